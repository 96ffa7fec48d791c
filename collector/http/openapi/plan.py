"""The upgrade plan's part of the OpenAPI document: plans, forecasts and Windows 11 eligibility (``read_api``)."""
from __future__ import annotations

from typing import Any

from collector.http.openapi.read import array, ref
from inventory.forecast import REASONS
from inventory.win11 import CHECK_IDS, ELIGIBILITIES

_INT = {"type": "integer", "minimum": 0}
_NUMBER = {"type": "number", "minimum": 0}
_TEXT = {"type": "string"}
_DAY = {"type": ["string", "null"], "format": "date"}
_STRINGS = {"type": "array", "items": _TEXT}
_CODE = {"name": "code", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9]{5}$"}}


def _closed(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": list(properties), "properties": properties}


def _answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


PLAN_SCHEMAS: dict[str, Any] = {
    "Forecast": {**_closed({"ready_on": _DAY, "low": _DAY, "high": _DAY, "reason": {"enum": [*REASONS, None]}}),
                 "description": "The day no device is left not ready at the recent pace (Theil-Sen over the last "
                                "4 weeks), with its 95 % interval; a past day with no reason: ready since; null "
                                "with the reason when there is no forecast."},
    "Win11Check": _closed({"id": {"enum": list(CHECK_IDS)},
                           "outcome": {"enum": ["pass", "fail", "firmware_setting", "unknown"]},
                           "measured": {"type": ["string", "null"]}, "required": _TEXT, "reason_vi": _TEXT,
                           "reason_en": _TEXT}),
    "Win11": _closed({"eligible": {"type": ["boolean", "null"]}, "after_firmware_settings": {"type": "boolean"},
                      "checks": array("Win11Check")}),
    "Win11Tally": {"type": "object", "propertyNames": {"enum": list(ELIGIBILITIES)},
                   "additionalProperties": _closed({"devices": _INT, "windows_10": _INT})},
    "PriceListUsed": _closed({"source": _TEXT, "as_of": {"type": "string", "format": "date"},
                              "example": {"type": "boolean"}, "regulations": _STRINGS}),
    "PlanLine": _closed({"action": _TEXT, "item": {"type": ["string", "null"]}, "quantity": _NUMBER,
                         "unit_price_vnd": _INT, "amount_vnd": _INT, "labour_hours": _NUMBER, "device_ids": _STRINGS,
                         "description_vi": _TEXT, "unit_of_measure": _TEXT, "basis": _TEXT}),
    "DevicePlan": _closed({"device_id": _TEXT, "device_class": _TEXT, "unresolved": _STRINGS,
                           "actions": {"type": "array", "items": _closed({
                               "action": _TEXT, "item": {"type": ["string", "null"]}, "quantity": _INT,
                               "labour_hours": _NUMBER, "fixes": _STRINGS})}}),
    "UnitPlan": _closed({"ward_code": _TEXT, "as_of": {"type": "string", "format": "date-time"},
                         "items": array("PlanLine"), "total_vnd": _INT, "labour_hours": _NUMBER,
                         "price_list": ref("PriceListUsed"),
                         "unresolved": {"type": "object", "additionalProperties": _STRINGS,
                                        "description": "devices not priced, with the checks whose facts are "
                                                       "unknown"},
                         "devices": array("DevicePlan"), "win11": ref("Win11Tally"), "forecast": ref("Forecast")}),
    "CityPlan": _closed({"as_of": {"type": "string", "format": "date-time"}, "total_vnd": _INT,
                         "labour_hours": _NUMBER, "by_action": {"type": "object", "additionalProperties": _INT},
                         "units": {"type": "array", "items": _closed({
                             "unit_code": _TEXT, "total_vnd": _INT, "labour_hours": _NUMBER,
                             "forecast": ref("Forecast")})},
                         "win11": ref("Win11Tally"), "price_list": ref("PriceListUsed"), "forecast": ref("Forecast")}),
}

_GAP = _answer("`price_list_incomplete`: an item the actions use has no price in force today (a line ran out "
               "since the collector started); the message names it. Replace the price list and restart.", ref("Error"))

PLAN_PATHS: dict[str, Any] = {
    "/api/v1/wards/{code}/plan": {"get": {
        "summary": "A unit's upgrade plan: bill of quantities priced by the price list in force, each device's "
                   "actions, Windows 11 eligibility of its devices, and its forecast",
        "parameters": [_CODE],
        "responses": {"200": _answer("The unit's plan", ref("UnitPlan")),
                      "404": _answer("Unknown unit code", ref("Error")), "503": _GAP}}},
    "/api/v1/plan": {"get": {
        "summary": "The city's upgrade plan: total, per action and per unit, Windows 11 tally, forecasts",
        "responses": {"200": _answer("The city's plan", ref("CityPlan")), "503": _GAP}}},
}
