"""A report as JSON a person can read: indented sections, one array item per line.

`hdc-agent inventory --print` is read by IT officers and diffed between
runs, and a PC lists hundreds of programs. One program per line reads and
diffs better than five lines each, and it lets the C encoder write the
items: fully indented output goes through the json module's pure-Python
path, which costs more than the rest of the report.
"""
from __future__ import annotations

import json
from typing import Any

_ITEM = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))


def dumps(report: dict) -> str:
    """``report`` indented by two spaces, with the items of its arrays on one line each."""
    return "{\n" + ",\n".join(f"  {json.dumps(key)}: {_value(value, 2)}" for key, value in report.items()) + "\n}"


def _value(value: Any, depth: int) -> str:
    pad = " " * (depth + 2)
    if isinstance(value, dict) and value:
        inner = ",\n".join(f"{pad}{json.dumps(k)}: {_value(v, depth + 2)}" for k, v in value.items())
        return "{\n" + inner + "\n" + " " * depth + "}"
    if isinstance(value, list) and value:
        return "[\n" + ",\n".join(pad + _ITEM.encode(item) for item in value) + "\n" + " " * depth + "]"
    return _ITEM.encode(value)
