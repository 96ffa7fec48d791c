"""Endpoints for agents that are not ours: FusionInventory, GLPI Agent and OCS Inventory NG, unmodified.

``POST /inventory`` speaks GLPI Agent's JSON protocol (CONTACT, then
inventory) and the FusionInventory/GLPI XML protocol (PROLOG, then
INVENTORY); ``POST /ocsinventory`` speaks the same XML protocol to OCS NG
agents, which need a zlib reply, and to FusionInventory agents given a server
URL without a path (they add ``/ocsinventory`` themselves).

Agents authenticate with HTTP Basic, which all of them support as-is: the
user is the unit's code, the password that unit's token. Inventories are
converted (``inventory.foreign``) into ordinary reports and stored by the
same ingestor as our agent's, so they are validated, judged and counted
alike. A report id is derived from the device and the inventory's bytes:
an agent that resends an inventory after a lost reply gets "duplicate".

The Basic challenge itself (a request without credentials, answered 401 so
the agent sends them) is the normal handshake of these agents and is not
counted as a refused report; wrong credentials are.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

import sqlalchemy as sa
from flask import Blueprint, Response, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from collector.context import Context, ctx
from collector.http.auth import BASIC, UNIT, identity, requires
from collector.http.errors import ApiError
from collector.ingest.encoding import JSON, REPLY_TYPES, XML, ZLIB, Body, BodyError, encode_reply, read_body
from collector.ingest.ingestor import DeviceOfAnotherUnit
from collector.store import bodies as stored
from collector.store.engine import STORE_UNAVAILABLE
from collector.store.tables import devices
from collector.store.tokens import TokenIdentity
from inventory.foreign import Conversion, ConversionError, Origin, glpi_json, ocs_xml
from inventory.foreign.identity import digest
from inventory.foreign.partial import complete_partial
from inventory.report import parse_rfc3339
from inventory.schema import validate_report
from inventory.text import unencodable_field

bp = Blueprint("foreign", __name__)

# Inflated inventories: a Windows PC with every update listed is 2-5 MB of XML; 32 MiB leaves room.
MAX_INVENTORY_BYTES = 32 * 1024 * 1024
# How often agents should come back, in hours (PROLOG_FREQ and the JSON "expiration" both count hours).
CONTACT_EVERY_HOURS = 24
_PROLOG_REPLY = (f'<?xml version="1.0" encoding="UTF-8"?>\n<REPLY><RESPONSE>SEND</RESPONSE>'
                 f'<PROLOG_FREQ>{CONTACT_EVERY_HOURS}</PROLOG_FREQ></REPLY>\n').encode()
_INVENTORY_REPLY = b'<?xml version="1.0" encoding="UTF-8"?>\n<REPLY><RESPONSE>NO_ACCOUNT_UPDATE</RESPONSE></REPLY>\n'
_XML_QUERIES = ("PROLOG", "INVENTORY")
_JSON_ACTIONS = ("contact", "inventory")


@bp.errorhandler(ApiError)
def _refused(exc: ApiError) -> Response:
    if exc.counted:
        ctx().ingest_metrics.reports.labels(exc.reason).inc()
    return _error(exc, g.get("hdc_foreign_body"), request.endpoint == "foreign.ocsinventory")


@bp.post("/inventory")
@requires(UNIT, BASIC)
def inventory() -> Response:
    return _handle(ocs=False)


@bp.post("/ocsinventory")
@requires(UNIT, BASIC)
def ocsinventory() -> Response:
    return _handle(ocs=True)


def _handle(ocs: bool) -> Response:
    c = ctx()
    body = g.hdc_foreign_body = _read(c)
    # Parsed and converted outside the ingest turn (within bounds, see ocs_xml.MAX_ELEMENTS): a hostile body
    # costs its sender's request only, never other units' reports.
    return _xml(c, body, identity(), ocs) if body.kind == XML else _json(c, body, identity())


def _read(c: Context) -> Body:
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge:
        raise ApiError(413, "too_large", f"body larger than {c.settings.max_report_bytes} bytes") from None
    try:
        body = read_body(raw, request.headers.get("Content-Type"), MAX_INVENTORY_BYTES)
    except BodyError as exc:
        raise ApiError(exc.status, exc.reason, exc.message) from None
    refusal = c.unit_budget.charge(identity().ward_code or "", len(body.data))
    if refusal is not None:
        raise ApiError(429, "over_budget", refusal.message, headers=refusal.headers)
    return body


def _origin(identity: TokenIdentity, source: str, body: Body) -> Origin:
    return Origin(identity.ward_code or "", source, datetime.now(timezone.utc), digest(body.data),
                  user_agent=request.headers.get("User-Agent"))


# --- FusionInventory / GLPI / OCS XML ---------------------------------------

def _xml(c: Context, body: Body, identity: TokenIdentity, ocs: bool) -> Response:
    try:
        parsed = ocs_xml.parse_request(body.data)
    except ConversionError as exc:
        raise ApiError(400, "malformed", str(exc)) from None
    if parsed.query not in _XML_QUERIES:
        raise ApiError(400, "malformed", f"REQUEST/QUERY {parsed.query[:40]!r} is not supported; "
                                             "this collector answers PROLOG and INVENTORY")
    if parsed.query == "PROLOG":
        return _reply(_PROLOG_REPLY, body.encoding, ocs)
    source = _xml_source(request.headers.get("User-Agent"), parsed.content)
    try:
        conversion = ocs_xml.convert_request(parsed, _origin(identity, source, body))
    except ConversionError as exc:
        raise ApiError(400, "invalid", str(exc)) from None
    _store(c, conversion, partial=False)
    return _reply(_INVENTORY_REPLY, body.encoding, ocs)


def _xml_source(user_agent: Optional[str], content: Optional[dict]) -> str:
    """ocs, glpi or fusioninventory: OCS agents say so in User-Agent; the others in VERSIONCLIENT too."""
    version = (content or {}).get("versionclient") or [""]
    label = " ".join(filter(None, (user_agent, version[0] if isinstance(version[0], str) else ""))).lower()
    if label.startswith("ocs"):
        return "ocs"
    return "glpi" if "glpi" in label else "fusioninventory"


# --- GLPI Agent JSON ----------------------------------------------------------

def _json(c: Context, body: Body, identity: TokenIdentity) -> Response:
    try:
        message = glpi_json.parse_message(body.data)
    except ConversionError as exc:
        raise ApiError(400, "malformed", str(exc)) from None
    action = glpi_json.action(message)
    if action not in _JSON_ACTIONS:
        raise ApiError(400, "malformed", f"action {action[:40]!r} is not supported; this collector answers "
                                             "contact and inventory")
    if action == "contact":
        return _reply(_json_bytes(_contact_answer(message)), body.encoding, ocs=False)
    try:
        conversion = glpi_json.convert_message(message, _origin(identity, "glpi", body))
    except ConversionError as exc:
        raise ApiError(400, "invalid", str(exc)) from None
    _store(c, conversion, partial=message.get("partial") is True)
    return _reply(_json_bytes({"status": "ok", "expiration": CONTACT_EVERY_HOURS}), body.encoding, ocs=False)


def _contact_answer(message: dict[str, Any]) -> dict[str, Any]:
    """Accept, and switch off the agent's other tasks (deploy, collect, ...), which this collector does not serve."""
    enabled = message.get("enabled-tasks")
    others = sorted({t.lower() for t in enabled if isinstance(t, str)} - {"inventory"}) \
        if isinstance(enabled, list) else []
    answer: dict[str, Any] = {"status": "ok", "expiration": CONTACT_EVERY_HOURS}
    if others:
        answer["disabled"] = others
    return answer


def _json_bytes(payload: dict[str, Any]) -> bytes:
    # backslashreplace: a message quoting what an agent sent may hold a lone surrogate, which UTF-8 cannot carry.
    return json.dumps(payload, ensure_ascii=False).encode("utf-8", "backslashreplace")


# --- storing and answering ----------------------------------------------------

def _store(c: Context, conversion: Conversion, partial: bool) -> None:
    """Validate, judge and store like our own reports; a partial inventory is completed first."""
    with c.ingest_metrics.duration.time():
        report = conversion.report
        if partial:
            report = complete_partial(report, conversion.covered,
                                      _previous_report(c, report["device"]["id"], report["ward_code"]))
        field = unencodable_field(report)
        if field:
            raise ApiError(400, "invalid", f"the inventory's {field[:200]!r} holds a lone UTF-16 surrogate, which is "
                                           "not text")
        problems = validate_report(report)
        if problems:
            raise ApiError(400, "invalid", f"the converted report does not match the schema: {problems[0]}")
        limit = datetime.now(timezone.utc) + timedelta(seconds=c.settings.max_clock_skew_seconds)
        if parse_rfc3339(report["collected_at"]) > limit:
            raise ApiError(400, "invalid", "ACCESSLOG/LOGDATE is in the future; check the device's clock")
        try:
            with c.ingest_turn:  # see Context.ingest_turn
                result = c.ingestor.ingest(report, json.dumps(report, ensure_ascii=False),
                                           unit_scope=report["ward_code"])
        except DeviceOfAnotherUnit as exc:
            raise ApiError(409, "conflict", str(exc)) from None
        except STORE_UNAVAILABLE:
            # The store, not the inventory, is at fault: the agent keeps it and retries later.
            raise ApiError(503, "unavailable", "the store cannot accept reports right now; retry later",
                               headers={"Retry-After": "60"}) from None
    c.ingest_metrics.reports.labels(result.status).inc()


def _previous_report(c: Context, device_id: str, unit_code: str) -> Optional[dict]:
    """The device's last stored report, if the device is this unit's: another unit's facts are never merged in."""
    with c.engine.connect() as conn:
        last = conn.execute(sa.select(devices.c.last_report_id).where(devices.c.device_id == device_id)
                            .where(devices.c.ward_code == unit_code)).scalar()
        body = stored.read_body(conn, last) if last else None
    return json.loads(body) if body else None


def _reply(payload: bytes, encoding: str, ocs: bool) -> Response:
    """In the agent's own encoding; OCS agents can only read zlib, whatever they sent."""
    if ocs:
        return Response(encode_reply(payload, ZLIB), status=200, content_type="application/x-compress")
    return Response(encode_reply(payload, encoding), status=200, content_type=REPLY_TYPES[encoding])


def _error(exc: ApiError, body: Optional[Body], ocs: bool) -> Response:
    """GLPI Agent reads ``{"status": "error", "message": ...}`` in its own encoding; XML agents log the status."""
    if body is not None and body.kind == JSON and not ocs:
        payload = _json_bytes({"status": "error", "message": exc.message})
        response = Response(encode_reply(payload, body.encoding), status=exc.status,
                            content_type=REPLY_TYPES[body.encoding])
    else:
        payload = _json_bytes({"error": exc.reason, "message": exc.message, "status": exc.status})
        response = Response(payload, status=exc.status, content_type="application/json")
    response.headers.update(exc.headers)
    return response
