"""The city's plan as dated milestones, and the deadline arithmetic the page and alerts share.

Dates are data (``data/milestones.yaml``) because plans slip by decision:
changing a date must not need a release. Dates are Hanoi calendar days, and
callers pass today's Hanoi date; a milestone is met or missed at the end of
its day.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .datafile import DataFile, DataFileError, read_data

DEFAULT_MILESTONES = "milestones.yaml"
_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class MilestoneError(DataFileError):
    """A milestones file that cannot be trusted."""


@dataclass(frozen=True)
class Milestone:
    id: str
    date: dt.date  # spelled dt.date: inside the class the field name "date" hides the type
    title_vi: str
    title_en: str

    def days_left(self, as_of: dt.date) -> int:
        """Days until the due date: 0 on the day itself, negative once overdue."""
        return (self.date - as_of).days

    def days_overdue(self, as_of: dt.date) -> int:
        """Days past the due date, 0 until it has passed."""
        return max(0, -self.days_left(as_of))


def parse_milestones(text: str, source: str) -> list[Milestone]:
    f = DataFile(text, source, MilestoneError)
    root = f.mapping(f.root, "", 1, ("milestones",))
    items = f.sequence(root["milestones"], "milestones", f.line(root, "milestones"))
    if not items:
        f.fail(f.line(root, "milestones"), "milestones", "empty list")
    out: list[Milestone] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(items):
        field, line = f"milestones[{i}]", f.line(items, i)
        raw = f.mapping(raw, field, line, ("id", "date", "title_vi", "title_en"))
        mid = raw["id"]
        if not isinstance(mid, str) or not _ID.match(mid):
            f.fail(f.line(raw, "id"), f"{field}.id", f"{mid!r} is not an id (lower case, digits, '_')")
        if mid in seen:
            f.fail(f.line(raw, "id"), f"{field}.id", f"duplicate id {mid!r} (first on line {seen[mid]})")
        seen[mid] = f.line(raw, "id")
        out.append(Milestone(mid, f.day(raw, "date", f"{field}.date"),
                             f.text(raw, "title_vi", f"{field}.title_vi"),
                             f.text(raw, "title_en", f"{field}.title_en")))
    return out


def load_milestones(path: Optional[Path] = None) -> list[Milestone]:
    """Load a milestones file, or Hanoi's plan when ``path`` is None; in file order."""
    text, source = read_data(path, DEFAULT_MILESTONES, MilestoneError)
    return parse_milestones(text, source)
