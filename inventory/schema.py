"""Report schema versions and validation.

Every version the collector ever accepted stays in ``schemas/`` and stays
accepted: an agent on a forgotten ward PC may keep sending v1 for years.
``fastjsonschema`` is imported only when validating, so the agent (which
builds reports but never validates foreign ones) does not need it.
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
    import fastjsonschema

    return fastjsonschema.compile(schema_document(version))


def validate_report(doc: Any) -> list[SchemaError]:
    """Return the problems of ``doc`` as a report (empty when it is valid).

    The version is read first so that the message for a report of an unknown
    version says so, instead of listing every field the current schema wants.
    Validation stops at the first problem: it runs on every ingest, and
    fastjsonschema's generated code does it in well under a millisecond for a
    report with hundreds of packages.
    """
    import fastjsonschema

    if not isinstance(doc, dict):
        return [SchemaError("", "a report must be a JSON object")]
    version = doc.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int):
        return [SchemaError("schema_version", "required, an integer; supported: "
                            + ", ".join(map(str, SUPPORTED_VERSIONS)))]
    if version not in SUPPORTED_VERSIONS:
        return [SchemaError("schema_version", f"version {version} is not supported; supported: "
                            + ", ".join(map(str, SUPPORTED_VERSIONS)))]
    try:
        _validator(version)(doc)
    except fastjsonschema.JsonSchemaValueException as exc:
        return [_error(exc)]
    return []


def _error(exc) -> SchemaError:
    """Turn fastjsonschema's ``data.a.b must ...`` into a field path and a bounded message."""
    name = exc.name[len("data"):].lstrip(".") if exc.name.startswith("data") else exc.name
    if exc.rule == "required" and isinstance(exc.value, dict):
        # Name the missing field itself, not its parent, so the sender knows what to add.
        missing = [k for k in exc.rule_definition if k not in exc.value]
        return SchemaError(".".join(filter(None, [name, missing[0]])), "required field is missing")
    message = exc.message[len(exc.name):].strip() if exc.message.startswith(exc.name) else exc.message
    if len(message) > 200:
        message = message[:197] + "..."
    return SchemaError(name, message)
