"""Text a report may carry: what is not text, or not safe to show, is found and named; hostnames are checked.

JSON can spell ``"\\ud800"``, which Python decodes to a string that no
database (and no UTF-8 page) can hold. Such a value is refused at ingest
with the field named, rather than stored half-way or answered with a 500.

Every string of a report may end up on the page, in an export, a metric
label or an alert text. Control characters (C0 other than tab and line
breaks, DEL, C1) and the bidirectional embeddings, overrides and isolates
(U+202A-U+202E, U+2066-U+2069, the "Trojan Source" characters) make a
value display as something it is not, so a report holding one is refused
naming the field: no real inventory needs them, and silently removing them
would store something other than what was sent. Reports we build from what
a probed device says (SSH, SNMP) are ours, so there the characters are
removed instead (``clean_report``): a switch with a strange sysName is still
inventoried. Hostnames follow the DNS label rules (RFC 1123; ``_`` allowed,
as NetBIOS and Windows names use it, and letters of any script, which Windows
allows), at most 253 characters; nothing is normalised at the collector (a
name is stored as the device gave it), while the probers drop a trailing dot
and surrounding blanks and fall back to the address when a device's own name
is not a host name.
"""
from __future__ import annotations

import re
from typing import Any, Iterator, Optional

# A JSON escape of a surrogate code point, which is where a lone surrogate can come from in UTF-8 text.
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Characters that make a value display as something else; tab, CR and LF are kept in free text (messages).
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# A DNS label (RFC 1123), with '_' as NetBIOS and Windows names have it, and letters of any script, which
# Windows allows in a computer name (and Vietnamese offices use).
_LABEL = re.compile(r"\w([\w-]{0,61}\w)?")
MAX_HOSTNAME = 253


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


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string of ``value`` (keys too) with its path, in document order."""
    if isinstance(value, str):
        yield path or "(document)", value
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str):
                yield where, key
            yield from _strings(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def _texts(value: Any) -> Iterator[str]:
    """Every string of ``value`` (keys too), as ``_strings`` finds them, without their paths."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield key
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def unsafe_character(value: str) -> Optional[str]:
    """Why ``value`` cannot be shown as it is (the first control or bidirectional character), or None."""
    found = _UNSAFE.search(value)
    if found is None:
        return None
    kind = "a bidirectional override" if found.group() >= "\u202a" else "a control character"
    return f"holds {kind} (U+{ord(found.group()):04X}), which would make it display as something it is not"


def hostname_problem(name: str) -> Optional[str]:
    """Why ``name`` is not a host name (DNS labels of letters, digits, ``-`` and ``_``), or None."""
    if len(name) > MAX_HOSTNAME:
        return f"is {len(name)} characters long; a host name has at most {MAX_HOSTNAME}"
    for label in name.removesuffix(".").split("."):
        if not _LABEL.fullmatch(label):
            shown = label[:40].encode("unicode_escape").decode("ascii")
            return (f"label {shown!r} is not a host name label: 1-63 letters, digits, '-' or '_', "
                    "not beginning or ending with '-'")
    return None


def unsafe_field(doc: Any, skip: tuple[str, ...] = ()) -> Optional[tuple[str, str]]:
    """The first field of a report that cannot be shown safely, and why: ``(field, message)``, or None.

    ``device.hostname`` must be a host name; every other string (and key) must
    hold no control or bidirectional character. Top-level keys in ``skip``
    (a software list already checked) are not walked again.
    """
    if isinstance(doc, dict):
        device = doc.get("device")
        hostname = device.get("hostname") if isinstance(device, dict) else None
        if isinstance(hostname, str):
            problem = hostname_problem(hostname)
            if problem:
                return "device.hostname", problem
        doc = {key: value for key, value in doc.items() if key not in skip}
    if not _UNSAFE.search("\n".join(_texts(doc))):
        return None  # every string is safe (the common case): no path built for each of them
    for where, value in _strings(doc, ""):
        problem = unsafe_character(value)
        if problem:
            return where, problem
    return None


def clean_hostname(name: Optional[str]) -> Optional[str]:
    """A host name a probed device gave, if it is one (trailing dot dropped), else None."""
    if not name:
        return None
    name = name.strip().removesuffix(".")
    return name if name and hostname_problem(name) is None else None


def clean_report(value: Any) -> Any:
    """A report we built from what a device said, with every string made safe to show (``clean_text``)."""
    if isinstance(value, str):
        return _UNSAFE.sub("", value)
    if isinstance(value, dict):
        return {clean_report(key): clean_report(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clean_report(item) for item in value]
    return value
