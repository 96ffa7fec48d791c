"""``hdc-agent probe-snmp``: read network and power equipment over SNMP and queue one report per device.

Read-only by construction: the only requests sent are GET and GETBULK (this
module imports no SET at all), for the subtrees :data:`inventory.snmp.SUBTREES`
names and the vendor objects of the vendor table, nothing else of the
device. Devices are read ``concurrency`` at a time in one asyncio loop
(pysnmp 7); a device that does not answer or refuses the credentials costs
itself only (a per-target error line, and a report with its facts unknown
when an earlier run read it), one that answers partly or nonsensically
still gets a report with those facts unknown and a note.
"""
from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any, NamedTuple, Optional

from inventory.schema import validate_report
from inventory.snmp import SUBTREES, Value, extract
from inventory.snmp_report import equipment_report, silent_report
from inventory.snmp_vendors import shipped_enterprises

from . import __version__
from .builder import AGENT_NAME
from .errors import ConfigError
from .snmp_seen import SeenDevice, SeenFile, seen_from_report, target_key
from .snmp_targets import Credentials, SnmpTarget, SnmpTargets

if TYPE_CHECKING:
    from .config import AgentConfig
    from .outbox import Outbox

_MAX_REPETITIONS = 25
_MAX_ROWS = 4096  # per subtree: a switch stack's ifTable, never a whole routing table
_GET_CHUNK = 10  # scalars per GET; some agents answer tooBig past a handful
_SYSTEM = SUBTREES[0]
# Answers (errorIndication) that mean the credentials were refused, not that the device is away.
_REFUSED = ("unknownusername", "wrongdigest", "decryptionerror", "unsupportedsecuritylevel", "authorizationerror",
            "notintimewindow", "unknownsecuritymodel")


class SnmpUnavailable(ConfigError):
    """pysnmp is not installed on this machine."""


class TargetFailure(Exception):
    """The device gave nothing to report; ``action`` when a person must fix credentials, not wait."""

    def __init__(self, message: str, action: bool):
        super().__init__(message)
        self.action = action


class SnmpResult(NamedTuple):
    target: SnmpTarget
    ok: bool
    message: str
    action: bool = False
    device_id: Optional[str] = None
    report_id: Optional[str] = None
    summary: str = ""

    def line(self) -> str:
        if self.ok:
            return (f"ok      {self.target.label}  {self.summary}  device {self.device_id}  "
                    f"report {self.report_id} queued")
        if self.report_id:  # silent, but known: reported with its facts unknown
            return f"FAILED  {self.message}; device {self.device_id} reported with its facts unknown " \
                   f"(report {self.report_id} queued)"
        return f"FAILED  {self.message}"


def pysnmp_module():
    """The pysnmp high-level API, or :class:`SnmpUnavailable` saying how to install it."""
    try:
        from pysnmp.hlapi.v3arch import asyncio as hlapi
    except ImportError as exc:
        raise SnmpUnavailable(f"SNMP probing needs pysnmp ({exc}); install it with: pip install "
                              "'hdc-readiness[snmp]'") from None
    return hlapi


def probe_snmp_targets(targets: SnmpTargets, config: "AgentConfig", outbox: "Outbox") -> list:
    """Read every target (``targets.concurrency`` at a time), queue each report; results in file order.

    A target that fails but answered an earlier run is reported under the
    identity it had then (:mod:`agents.snmp_seen`), with its facts unknown.
    """
    lock = threading.Lock()
    seen_file = SeenFile(outbox.directory)
    seen = seen_file.load()

    async def everyone() -> list:
        gate = asyncio.Semaphore(targets.concurrency)

        async def one(target: SnmpTarget) -> SnmpResult:
            async with gate:
                try:
                    report = await read_target(target, config)
                except TargetFailure as exc:
                    return _silent(target, str(exc), exc.action)
                except Exception as exc:  # a bug or an unforeseen answer costs this device only, said in one line
                    return _silent(target, f"{target.label}: unexpected {type(exc).__name__}: {exc}", False)
            with lock:
                outbox.put(report)
            seen[target_key(config.ward_code, target.label)] = seen_from_report(report)
            device = report["device"]
            unknown = sum(1 for note in report["notes"] if "by hdc-agent probe-snmp" not in note)
            summary = f"{device['class']} {device['manufacturer'] or '?'} {device['model'] or '?'}" + \
                      (f" ({unknown} note(s) in the report)" if unknown else "")
            return SnmpResult(target, True, "queued", device_id=device["id"], report_id=report["report_id"],
                              summary=summary)

        def _silent(target: SnmpTarget, message: str, action: bool) -> SnmpResult:
            known = seen.get(target_key(config.ward_code, target.label))
            report = None if known is None else _unanswered_report(known, target, config, message)
            if report is None:
                return SnmpResult(target, False, message, action=action)
            with lock:
                outbox.put(report)
            return SnmpResult(target, False, message, action=action, device_id=report["device"]["id"],
                              report_id=report["report_id"])

        return list(await asyncio.gather(*(one(t) for t in targets.targets)))

    results = asyncio.run(everyone())
    seen_file.save(seen)
    return results


def _unanswered_report(known: SeenDevice, target: SnmpTarget, config: "AgentConfig", reason: str) -> Optional[dict]:
    """The silent device's report, or None when the remembered identity no longer makes a valid one."""
    report = silent_report(known.device, config.ward_code, AGENT_NAME, __version__, target.label,
                           target.credentials.version,
                           f"no answer since {known.reached_at}: {reason}; its facts are unknown until it answers")
    return None if validate_report(report) else report


async def read_target(target: SnmpTarget, config: "AgentConfig") -> dict:
    """One device's report; :class:`TargetFailure` when it does not answer or refuses the credentials."""
    hlapi = pysnmp_module()
    engine = hlapi.SnmpEngine()
    try:
        session = _Session(hlapi, engine, target, await _transport(hlapi, target))
        values: dict[str, Value] = {}
        notes: list[str] = []
        await session.walk(_SYSTEM, values)  # raises TargetFailure: nothing else is worth asking then
        if not values:
            raise TargetFailure(f"{target.label}: answered, but not the system group (1.3.6.1.2.1.1); check the "
                                "SNMP view the device gives this community or user", action=True)
        for subtree in SUBTREES[1:]:
            try:
                await session.walk(subtree, values)
            except TargetFailure as exc:
                notes.append(f"{subtree}: {exc}; its facts are unknown")
        await session.get(shipped_enterprises().oids(), values, notes)
    finally:
        engine.close_dispatcher()
    facts = extract(values)
    facts.notes[:0] = notes
    facts.notes.append(f"read over SNMPv{target.credentials.version} from {target.label} by hdc-agent probe-snmp")
    return equipment_report(facts, config.ward_code, AGENT_NAME, __version__, target.label,
                            target.credentials.version, target.name, target.location)


async def _transport(hlapi: Any, target: SnmpTarget):
    kind = hlapi.Udp6TransportTarget if ":" in target.host else hlapi.UdpTransportTarget
    try:
        return await kind.create((target.host, target.port), timeout=target.timeout, retries=target.retries)
    except Exception as exc:  # pysnmp wraps resolver failures in its own error type
        raise TargetFailure(f"{target.label}: cannot resolve or use the address: {exc}", action=True) from None


class _Session:
    """One device's engine, credentials and transport; turns pysnmp's answers into plain values."""

    def __init__(self, hlapi: Any, engine: Any, target: SnmpTarget, transport: Any):
        self.hlapi, self.engine, self.target, self.transport = hlapi, engine, target, transport
        self.auth = _auth(hlapi, target.credentials)

    async def walk(self, subtree: str, values: dict) -> None:
        h = self.hlapi
        rows = 0
        async for indication, status, _index, binds in h.bulk_walk_cmd(
                self.engine, self.auth, self.transport, h.ContextData(), 0, _MAX_REPETITIONS,
                h.ObjectType(h.ObjectIdentity(subtree)), lexicographicMode=False, lookupMib=False,
                maxRows=_MAX_ROWS):
            if indication:
                raise TargetFailure(self._explain(indication), action=self._refused(indication))
            if status:
                raise TargetFailure(f"{self.target.label}: the device answered {status.prettyPrint()}",
                                    action=False)
            for name, value in binds:
                converted = _plain(h, value)
                if converted is not None:
                    values[str(name)] = converted
                    rows += 1
            if rows >= _MAX_ROWS:
                break

    async def get(self, oids: tuple, values: dict, notes: list) -> None:
        """The vendor table's scalars, a few per request; an error costs only that chunk's facts."""
        h = self.hlapi
        for start in range(0, len(oids), _GET_CHUNK):
            chunk = oids[start:start + _GET_CHUNK]
            indication, status, _, binds = await h.get_cmd(
                self.engine, self.auth, self.transport, h.ContextData(),
                *(h.ObjectType(h.ObjectIdentity(oid)) for oid in chunk), lookupMib=False)
            if indication or status:
                notes.append(f"vendor objects {chunk[0]}…: {self._explain(indication) if indication else status}; "
                             "their facts are unknown")
                continue
            for name, value in binds:
                converted = _plain(h, value)
                if converted is not None:
                    values[str(name)] = converted

    def _refused(self, indication: Any) -> bool:
        return type(indication).__name__.lower() in _REFUSED or \
            any(word in str(indication).lower().replace(" ", "") for word in _REFUSED)

    def _explain(self, indication: Any) -> str:
        label, t = self.target.label, self.target
        if self._refused(indication):
            return (f"{label}: the device refused the SNMPv3 credentials of user {t.credentials.user!r} "
                    f"({indication}); check the user, the auth/priv protocols and the key files")
        if "timeout" in str(indication).lower():
            tries = t.retries + 1
            hint = "the community is wrong (an agent does not answer a wrong community), " \
                if t.credentials.version == "2c" else ""
            return (f"{label}: no answer within {t.timeout:g} s ({tries} tries): the device is off or "
                    f"unreachable, {hint}or SNMP is not enabled for this address")
        return f"{label}: {indication}"


def _auth(hlapi: Any, credentials: Credentials):
    if credentials.version == "2c":
        return hlapi.CommunityData(credentials.community, mpModel=1)
    auth = {"md5": hlapi.USM_AUTH_HMAC96_MD5, "sha": hlapi.USM_AUTH_HMAC96_SHA,
            "sha224": hlapi.USM_AUTH_HMAC128_SHA224, "sha256": hlapi.USM_AUTH_HMAC192_SHA256,
            "sha384": hlapi.USM_AUTH_HMAC256_SHA384, "sha512": hlapi.USM_AUTH_HMAC384_SHA512}
    priv = {"des": hlapi.USM_PRIV_CBC56_DES, "3des": hlapi.USM_PRIV_CBC168_3DES, "aes128": hlapi.USM_PRIV_CFB128_AES,
            "aes192": hlapi.USM_PRIV_CFB192_AES, "aes256": hlapi.USM_PRIV_CFB256_AES}
    if credentials.auth_protocol is None or credentials.priv_protocol is None:  # load_snmp_targets sets both for v3
        raise ValueError(f"{credentials!r}: SNMPv3 needs auth_protocol and priv_protocol")
    return hlapi.UsmUserData(credentials.user, credentials.auth_key, credentials.priv_key,
                             authProtocol=auth[credentials.auth_protocol], privProtocol=priv[credentials.priv_protocol])


def _plain(h: Any, value: Any):
    """bytes for OCTET STRING, int for numbers, dotted text for OIDs and addresses; None for "no such" and NULL.

    Checked against pyasn1's base types: pysnmp hands some values over as
    those (an OBJECT IDENTIFIER arrives as ``univ.ObjectIdentifier``).
    """
    from pyasn1.type import univ

    if isinstance(value, (h.NoSuchObject, h.NoSuchInstance, h.EndOfMibView)):
        return None
    if isinstance(value, h.IpAddress):
        return value.prettyPrint()
    if isinstance(value, univ.ObjectIdentifier):
        return str(value)
    if isinstance(value, univ.OctetString):
        return bytes(value.asOctets())
    if isinstance(value, univ.Integer):
        return int(value)
    return None
