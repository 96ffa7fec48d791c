"""Reading typed values out of a GLPI-format content tree, whichever syntax it came in.

The GLPI JSON format types its values (``"memory": 7908``); FusionInventory
and OCS XML carry the same fields as text (``<MEMORY>7908</MEMORY>``). Both
arrive here as the same lower-case tree, so one converter serves both.

The rule for bad values follows the format's own types: a field the format
declares as a number must be a number (``"abc"`` is not an inventory, and
the sender is told which field), while a field it declares as text (CPU
``model``, ``familynumber``, BIOS dates in XML) is read when it can be and
otherwise left unknown, with a note.
"""
from __future__ import annotations

import math
import re
from typing import Any, Optional

from .errors import ConversionError, PathPart

Path = tuple[PathPart, ...]
_NUMBER = re.compile(r"^\s*[0-9]+(\.[0-9]+)?\s*$")


def section(content: dict, name: str) -> tuple[dict, Path]:
    """A section the format has once (``hardware``, ``bios``); XML readers give it as a one-item list."""
    value = content.get(name)
    path: Path = ("content", name)
    if value is None:
        return {}, path
    if isinstance(value, list):
        if not value:
            return {}, path
        value, path = value[0], (path if len(value) == 1 else path + (0,))
    if not isinstance(value, dict):
        raise ConversionError(path, f"expected an object, got {_kind(value)}")
    return value, path


def entries(content: dict, name: str) -> list[tuple[dict, Path]]:
    """The items of a repeated section (``cpus``, ``storages``, ``softwares``), each with its location."""
    value = content.get(name)
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for i, item in enumerate(items):
        path: Path = ("content", name, i) if isinstance(value, list) else ("content", name)
        if not isinstance(item, dict):
            raise ConversionError(path, f"expected an object, got {_kind(item)}")
        out.append((item, path))
    return out


def text(obj: dict, key: str, path: Path, limit: Optional[int] = None) -> Optional[str]:
    """A text field, stripped; empty means unknown. Numbers are accepted as their text."""
    value = obj.get(key)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        raise ConversionError(path + (key,), f"expected text, got {_kind(value)}")
    value = value.strip()
    if not value:
        return None
    return value[:limit] if limit else value


def number(obj: dict, key: str, path: Path) -> Optional[float]:
    """A field the format declares numeric: unknown when absent or empty, an error when it is not a number."""
    value = obj.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConversionError(path + (key,), f"expected a number, got {_kind(value)}")
    if isinstance(value, str):
        if not _NUMBER.match(value):
            raise ConversionError(path + (key,), f"expected a non-negative number, got {value.strip()[:40]!r}")
        value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ConversionError(path + (key,), f"expected a non-negative number, got {value!r}")
    return float(value)


def integer(obj: dict, key: str, path: Path) -> Optional[int]:
    value = number(obj, key, path)
    return None if value is None else int(value)


def loose_int(obj: dict, key: str, path: Path) -> Optional[int]:
    """A number the format keeps as text (``familynumber``, CPU ``model``): unknown unless it is digits."""
    value = text(obj, key, path)
    return int(value) if value is not None and value.isdigit() else None


def flag(obj: dict, key: str) -> Optional[bool]:
    """JSON ``true``/``false`` or XML ``1``/``0``/empty; anything else is unknown."""
    value = obj.get(key)
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, str)):
        return {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False,
                "": False}.get(str(value).strip().lower())
    return None


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "a boolean"}.get(type(value), type(value).__name__)
