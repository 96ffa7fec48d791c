"""Text a report may carry: a string that is not text (a lone UTF-16 surrogate) is found and named.

JSON can spell ``"\\ud800"``, which Python decodes to a string that no
database (and no UTF-8 page) can hold. Such a value is refused at ingest
with the field named, rather than stored half-way or answered with a 500.
"""
from __future__ import annotations

import re
from typing import Any, Optional

# A JSON escape of a surrogate code point, which is where a lone surrogate can come from in UTF-8 text.
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def unencodable_field(value: Any, path: str = "") -> Optional[str]:
    """The path (``software[3].name``) of the first string or key holding a lone surrogate, or None."""
    if isinstance(value, str):
        return path or "(document)" if _SURROGATE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _SURROGATE.search(key):
                return where
            found = unencodable_field(item, where)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = unencodable_field(item, f"{path}[{index}]")
            if found:
                return found
    return None
