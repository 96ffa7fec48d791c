"""Schemas of the read API's answers, for the OpenAPI document; a test validates real answers against them.

Objects this project defines are closed (``additionalProperties: false``),
so a field added to an answer without being described here fails the test.
A device row comes from ``queries.devices_of_unit``, which may grow: it is open.
"""
from __future__ import annotations

from typing import Any

from collector.readiness.workitems import STATES
from inventory.migration import CONTRADICTION_CODES
from inventory.migration import STATES as MIGRATION_STATES
from inventory.readiness import UNIT_STATUSES, VERDICTS


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def array(name: str) -> dict[str, Any]:
    return {"type": "array", "items": ref(name)}


def _closed(properties: dict[str, Any], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False,
            "required": [k for k in properties if k not in optional], "properties": properties}


_INT = {"type": "integer", "minimum": 0}
_MOMENT = {"type": ["string", "null"], "format": "date-time"}
_COUNTS = _closed({v: _INT for v in VERDICTS})
_SHARE = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
_PAGE = {"count": _INT, "total": _INT, "limit": {"type": "integer", "minimum": 1}, "offset": _INT}

READ_SCHEMAS: dict[str, Any] = {
    "WorkCounts": _closed({s: _INT for s in STATES}),
    "Milestone": _closed({"id": {"type": "string"}, "date": {"type": "string", "format": "date"},
                          "title_vi": {"type": "string"}, "title_en": {"type": "string"},
                          "days_left": {"type": "integer"}, "work_items": ref("WorkCounts")},
                         optional=("work_items",)),
    "Unit": _closed({
        "code": {"type": "string", "pattern": "^[0-9]{5}$"}, "name": {"type": "string"},
        "kind": {"enum": ["phuong", "xa"]}, "status": {"enum": list(UNIT_STATUSES)},
        "rag": {"enum": ["green", "amber", "red", "grey"]}, "devices": _INT, "verdicts": _COUNTS,
        "silent_devices": _INT, "replaced_devices": _INT,
        "readiness_ratio": {"type": "number", "minimum": 0, "maximum": 1}, "last_report_at": _MOMENT,
        "coverage": ref("Coverage"),
        "days_overdue": {"type": "integer", "minimum": 0,
                         "description": "Days past the equipment deadline (30/11/2025) while the unit is not ready"},
        "ready_since": {"type": ["string", "null"], "format": "date",
                        "description": "The first day (Hanoi) a ready unit met the bar; null while it is not ready"},
        "applications": _closed({"migrated": _INT, "in_scope": _INT}), "work_items": ref("WorkCounts"),
        "forecast": ref("Forecast"),
        "responsible": {"oneOf": [{"type": "null"}, _closed({
            "name": {"type": "string", "minLength": 1}, "contact": {"type": ["string", "null"]}})],
            "description": "The person responsible for the unit and how to reach them (hdc-collector units import); "
                           "null until named"}}, optional=("forecast",)),
    "Coverage": {**_closed({
        "expected": {**_INT, "description": "Machines the unit's register lists (0 without a register)"},
        "reporting": {**_INT, "description": "Active reporting machines, each class counted up to its registered "
                                             "number"},
        "ratio": {**_SHARE, "description": "reporting / expected; null without a register"},
        "by_class": {"type": "object", "additionalProperties": _closed({
            "expected": _INT, "reporting": _INT, "ratio": _SHARE})}}),
        "description": "The unit's coverage by its equipment register: a unit is never ready below the threshold "
                       "(serve --coverage-threshold) or without a register"},
    "RegisterMatching": _closed({
        "missing": {"type": "array", "description": "Named machines of the register that never reported",
                    "items": _closed({k: {"type": ["string", "null"]} for k in (
                        "device_class", "asset_tag", "serial", "hostname", "location", "responsible")})},
        "unregistered": {"type": "array", "description": "Reporting devices the register does not name",
                         "items": _closed({"device_id": {"type": "string"}, "hostname": {"type": "string"},
                                           "device_class": {"type": "string"}})}}),
    "UnitList": _closed({"units": array("Unit"), **_PAGE, "work_items_milestone": {"type": "string"},
                         "milestones": array("Milestone")}),
    "RuleResult": _closed({"rule_id": {"type": "string"}, "severity": {"enum": ["hard", "soft"]},
                           "outcome": {"enum": ["fail", "unknown"]}, "measured": {"type": ["string", "null"]},
                           "required": {"type": "string"}, "message_vi": {"type": "string"},
                           "message_en": {"type": "string"}}),
    "Device": {"type": "object", "required": ["device_id", "hostname", "class", "verdict", "verdict_since", "silent",
                                              "last_collected_at", "failures"],
               "properties": {"device_id": {"type": "string"}, "hostname": {"type": "string"},
                              "class": {"type": "string"}, "manufacturer": {"type": ["string", "null"]},
                              "model": {"type": ["string", "null"]}, "verdict": {"enum": list(VERDICTS)},
                              "verdict_since": _MOMENT, "silent": {"type": "boolean"},
                              "last_collected_at": _MOMENT, "failures": array("RuleResult")}},
    "DeviceList": _closed({"devices": array("Device"), **_PAGE}),
    "VerdictChange": _closed({"from": {"enum": [*VERDICTS, None]}, "to": {"enum": list(VERDICTS)},
                              "changed_at": _MOMENT, "failed_rules": {"type": "array", "items": {"type": "string"}}}),
    "DeviceDetail": _closed({"device": {"allOf": [ref("Device"), {"required": ["ward_code"]}]},
                             "history": array("VerdictChange"), "win11": ref("Win11"),
                             "notes": {"type": "array", "items": {"type": "string"},
                                       "description": "What the latest report's source could not read, and why"}}),
    "Application": _closed({"app_id": {"type": "string"}, "devices": _INT, "name_vi": {"type": "string"},
                            "name_en": {"type": "string"},
                            "target": {"enum": ["hdc_cloud", "hdc_web", "retired", "stays_local"]},
                            "state": {"enum": list(MIGRATION_STATES)}, "source": {"enum": ["declared", "inferred"]},
                            "contradictions": {"type": "array", "items": {"enum": list(CONTRADICTION_CODES)}}}),
    "WorkItem": _closed({"device_id": {"type": "string"}, "hostname": {"type": "string"},
                         "state": {"enum": list(STATES)}, "opened_at": _MOMENT, "done_at": _MOMENT,
                         "done_by": {"type": ["string", "null"]}}),
    "UnitDetail": _closed({
        "unit": ref("Unit"), "register": ref("RegisterMatching"), "devices": array("Device"),
        "applications": array("Application"),
        "reachability": {"type": "array", "items": _closed({
            "target": {"type": "string"}, "reachable": _INT, "checked": _INT,
            "connect_ms": {"type": ["number", "null"],
                           "description": "Mean TCP connect time of the devices that measured it (report schema v2)"},
            "failed_steps": {"type": "object", "description": "Devices whose check failed, by the step it stopped at",
                             "propertyNames": {"enum": ["resolve", "connect", "proxy", "tls", "http"]},
                             "additionalProperties": _INT}})},
        "work_items": _closed({"milestone": {"type": "string"},
                               "by_milestone": {"type": "object", "additionalProperties": ref("WorkCounts")},
                               "items": array("WorkItem")})}),
    "Summary": _closed({
        "as_of": _MOMENT,
        "units": _closed({"total": _INT, "by_status": _closed({s: _INT for s in UNIT_STATUSES})}),
        "devices": _closed({"total": _INT, "passing": _INT, "silent": _INT}),
        "applications": _closed({"migrated": _INT, "in_scope": _INT}),
        "top_failures": {"type": "array", "items": _closed({
            "rule_id": {"type": "string"}, "title_vi": {"type": ["string", "null"]},
            "title_en": {"type": ["string", "null"]}, "severity": {"enum": ["hard", "soft", None]},
            "devices": _INT})},
        "milestones": array("Milestone")}),
    "History": _closed({"ward": {"type": ["string", "null"]},
                        "days": {"type": "array", "items": {"type": "string", "format": "date"}},
                        "verdicts": _closed({v: {"type": "array", "items": _INT} for v in VERDICTS})}),
}
