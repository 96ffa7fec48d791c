"""Report schema versions and validation.

Every version the collector ever accepted stays in ``schemas/`` and stays
accepted: an agent on a forgotten ward PC may keep sending v1 for years.
A document is validated against the schema of the version it names.

The agent imports this module only for :data:`CURRENT_VERSION` on every
run of a ward PC, so it costs next to nothing to import: JSON, package
resources and ``fastjsonschema`` load only when a schema is read or a
report validated, which only the collector (and tests) do.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, NamedTuple

from inventory.text import unsafe_field

CURRENT_VERSION = 2
SUPPORTED_VERSIONS = (1, 2, 3)
# Network and power equipment (hdc-agent probe-snmp) reports in version 3. PCs keep writing version 2, a
# subset of it, so an agent upgraded before its collector is not refused.
EQUIPMENT_VERSION = 3


class SchemaError(NamedTuple):
    """One problem with a report, located by a JSON path such as ``hardware.cpu.family``."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


def schema_document(version: int = CURRENT_VERSION) -> dict[str, Any]:
    """The published JSON Schema of one report version."""
    import json
    from importlib import resources

    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"no report schema version {version}; published: {_versions()}")
    text = resources.files("inventory").joinpath(f"schemas/report-v{version}.schema.json").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=None)
def schema_fingerprint(version: int) -> str:
    """The SHA-256 of one version's published schema: what a list was found valid under, so a changed schema
    does not vouch for lists checked by the old one."""
    import hashlib
    import json

    return hashlib.sha256(json.dumps(schema_document(version), sort_keys=True).encode("utf-8")).hexdigest()


@lru_cache(maxsize=None)
def _validator(version: int):
    import fastjsonschema

    return fastjsonschema.compile(_python_anchors(schema_document(version)))


def _python_anchors(node: Any) -> Any:
    """The schema with each pattern's final ``$`` as ``\\Z``.

    JSON Schema patterns are ECMA-262, where ``$`` ends the text; Python's ``$``
    also matches before a final newline, which let ``"00070\\n"`` pass as a
    ward code and a report id one character longer than the store's column.
    """
    if isinstance(node, dict):
        return {k: (v[:-1] + "\\Z"
                    if k == "pattern" and isinstance(v, str) and v.endswith("$") and not v.endswith("\\$")
                    else _python_anchors(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_python_anchors(v) for v in node]
    return node


def _versions() -> str:
    return ", ".join(map(str, SUPPORTED_VERSIONS))


def validate_report(doc: Any, software_checked: bool = False) -> list[SchemaError]:
    """Return the problems of ``doc`` as a report (empty when it is valid).

    ``software_checked``: the caller knows ``doc["software"]`` passed this
    check before under the same version (the collector knows lists by the
    hash of their text), so only the rest of the report is walked.

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
        return [SchemaError("schema_version", f"required, an integer; supported: {_versions()}")]
    if version not in SUPPORTED_VERSIONS:
        return [SchemaError("schema_version", f"version {version} is not supported; supported: {_versions()}")]
    if software_checked and isinstance(doc.get("software"), list):
        doc = dict(doc, software=[])
    try:
        _validator(version)(doc)
    except fastjsonschema.JsonSchemaValueException as exc:
        return [_error(exc)]
    problems = _beyond_schema(doc, _numeric_paths(version))
    if problems:
        return problems
    # Every ingest path (our agents, the probers, GLPI/FusionInventory/OCS) comes through here.
    unsafe = unsafe_field(doc)
    return [SchemaError(*unsafe)] if unsafe else []


_INT64 = 2 ** 63 - 1
_EARLIEST_YEAR = 2000


@lru_cache(maxsize=None)
def _numeric_paths(version: int) -> tuple[tuple[str, ...], ...]:
    """Where a version's numbers live (``*`` for every list item), read once from its schema."""
    found: list[tuple[str, ...]] = []

    def walk(node: dict, path: tuple[str, ...]) -> None:
        kind = node.get("type")
        kinds = kind if isinstance(kind, list) else [kind]
        if "integer" in kinds or "number" in kinds:
            found.append(path)
        for name, child in node.get("properties", {}).items():
            walk(child, path + (name,))
        if isinstance(node.get("items"), dict):
            walk(node["items"], path + ("*",))

    walk(schema_document(version), ())
    return tuple(found)


def _beyond_schema(doc: dict, numeric: tuple[tuple[str, ...], ...]) -> list[SchemaError]:
    """What the schema cannot say: a real time, and numbers a store column (64-bit, finite) can hold."""
    from datetime import datetime

    try:
        collected = datetime.fromisoformat(doc["collected_at"].replace("Z", "+00:00"))
    except ValueError:
        return [SchemaError("collected_at", f"{doc['collected_at'][:40]!r} is not a real date and time")]
    if collected.year < _EARLIEST_YEAR:
        # Judging needs dates years before this one (device age); year 1 is a clock that was never set.
        return [SchemaError("collected_at", f"before {_EARLIEST_YEAR}; check the device's clock")]
    for path in numeric:
        for where, value in _at(doc, path, ""):
            if isinstance(value, int) and not isinstance(value, bool) and not -_INT64 - 1 <= value <= _INT64:
                return [SchemaError(where, "is larger than a 64-bit integer; no device has that much")]
            if isinstance(value, float) and not math.isfinite(value):
                return [SchemaError(where, "must be a finite number")]
    return []


def _at(node: Any, path: tuple[str, ...], where: str):
    """The values at ``path`` in an already schema-valid ``node``, each with its dotted location."""
    if not path:
        yield where, node
    elif path[0] == "*" and isinstance(node, list):
        for i, item in enumerate(node):
            yield from _at(item, path[1:], f"{where}.{i}")
    elif isinstance(node, dict) and path[0] in node:
        yield from _at(node[path[0]], path[1:], f"{where}.{path[0]}" if where else path[0])


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
