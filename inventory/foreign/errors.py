"""The one error a converter raises: the input is not an inventory it can read.

It names the element (XML) or field (JSON) at fault, in the spelling of the
format the sender used, so a ward's IT officer can find it in the agent's own
output without knowing how this project stores reports.
"""
from __future__ import annotations

from typing import Sequence, Union

PathPart = Union[str, int]


def render_path(path: Sequence[PathPart], style: str) -> str:
    """``("content", "cpus", 0, "model")`` as ``content.cpus[0].model`` (JSON) or ``CONTENT/CPUS[1]/MODEL`` (XML)."""
    if style == "xml":
        out = "REQUEST"
        for part in path:
            out += f"[{part + 1}]" if isinstance(part, int) else "/" + part.upper()
        return out
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + part
    return out


class ConversionError(ValueError):
    """An inventory that cannot become a report; ``field`` locates the problem."""

    def __init__(self, path: Sequence[PathPart], problem: str, style: str = "json"):
        self.path, self.problem, self.style = tuple(path), problem, style
        super().__init__(str(self))

    @property
    def field(self) -> str:
        return render_path(self.path, self.style)

    def in_style(self, style: str) -> "ConversionError":
        """The same error, located in the naming of another format (XML elements instead of JSON keys)."""
        return ConversionError(self.path, self.problem, style)

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}" if self.path else self.problem
