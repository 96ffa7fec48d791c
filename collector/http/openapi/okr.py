"""The OKR part of the OpenAPI document (``http/okr.py``); a test validates real answers against it."""
from __future__ import annotations

from typing import Any

from collector.http.openapi.read import array, ref
from inventory.okr import MEASURES, STATUSES

_NUMBER = {"type": "number", "minimum": 0}
_DATE = {"type": "string", "format": "date"}
_TEXT = {"type": "string"}


def _closed(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": list(properties),
            "properties": properties}


OKR_SCHEMAS: dict[str, Any] = {
    "KeyResult": _closed({
        "id": _TEXT, "title_vi": _TEXT, "title_en": _TEXT, "measure": {"enum": list(MEASURES)},
        "value": {**_NUMBER, "description": "The measure now: units, or a share from 0 to 1 for *_ratio measures"},
        "baseline": _NUMBER, "target": _NUMBER,
        "progress": {"type": "number", "minimum": 0, "maximum": 1,
                     "description": "(value - baseline) / (target - baseline), held within 0..1"},
        "status": {"enum": list(STATUSES), "description": "Pace against the straight line from start to due"},
        "start": _DATE, "due": _DATE, "owner": _TEXT,
        "history": {"type": "array", "description": "The value in each ISO week, the last one measured that week "
                                                    "(this week's is the value now), oldest first",
                    "items": _closed({"week": {"type": "string", "pattern": "^[0-9]{4}-W[0-9]{2}$"},
                                      "value": _NUMBER})}}),
    "Objective": _closed({"id": _TEXT, "title_vi": _TEXT, "title_en": _TEXT, "key_results": array("KeyResult")}),
    "Okr": _closed({"as_of": {"type": "string", "format": "date-time"}, "today": _DATE,
                    "objectives": array("Objective"), "milestones": array("Milestone")}),
}

OKR_PATHS: dict[str, Any] = {
    "/api/v1/okr": {"get": {
        "summary": "Objectives and key results: each key result's value, progress and pace (as on /okr and in "
                   "/metrics), and each milestone's work items in the four states the city reports",
        "responses": {"200": {"description": "The OKRs",
                              "content": {"application/json": {"schema": ref("Okr")}}}}}},
}
