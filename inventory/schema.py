"""Report schema versions and validation.

Every version the collector ever accepted stays in ``schemas/`` and stays
accepted: an agent on a forgotten ward PC may keep sending v1 for years.
``jsonschema`` is imported only when validating, so the agent (which builds
reports but never validates foreign ones) does not need it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

CURRENT_VERSION = 1
SUPPORTED_VERSIONS = (1,)


@dataclass(frozen=True)
class SchemaError:
    """One problem with a report, located by a JSON path such as ``hardware.cpu.family``."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


def schema_document(version: int = CURRENT_VERSION) -> dict[str, Any]:
    """The published JSON Schema of one report version."""
    text = resources.files("inventory").joinpath(f"schemas/report-v{version}.schema.json").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=None)
def _validator(version: int):
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema_document(version))


def _path(error) -> str:
    parts = []
    for p in error.absolute_path:
        parts.append(f"[{p}]" if isinstance(p, int) else (f".{p}" if parts else str(p)))
    return "".join(parts)


def validate_report(doc: Any, max_errors: int = 20) -> list[SchemaError]:
    """Return the problems of ``doc`` as a report (empty when it is valid).

    The version is read first so that the message for a report of an unknown
    version says so, instead of listing every field the current schema wants.
    """
    if not isinstance(doc, dict):
        return [SchemaError("", "a report must be a JSON object")]
    version = doc.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int):
        return [SchemaError("schema_version", "required, an integer; supported: "
                            + ", ".join(map(str, SUPPORTED_VERSIONS)))]
    if version not in SUPPORTED_VERSIONS:
        return [SchemaError("schema_version", f"version {version} is not supported; supported: "
                            + ", ".join(map(str, SUPPORTED_VERSIONS)))]
    errors = sorted(_validator(version).iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    return [_error(e) for e in errors[:max_errors]]


def _error(error) -> SchemaError:
    path = _path(error)
    if error.validator == "required":
        # Name the missing field itself, not its parent, so the sender knows what to add.
        missing = error.message.split("'")[1] if "'" in error.message else ""
        return SchemaError(f"{path}.{missing}" if path else missing, "required field is missing")
    return SchemaError(path, _short(error))


def _short(error) -> str:
    """jsonschema's messages repeat the whole offending value; keep them one line and bounded."""
    msg = error.message
    if error.validator == "additionalProperties":
        return msg
    if len(msg) > 200:
        msg = msg[:197] + "..."
    return msg
