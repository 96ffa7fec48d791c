"""Facts read by a probe, plus the agent's configuration -> one report of the current schema version.

Version 2 since reachability is measured step by step: the entries come
from ``agents.reachability`` as they are and only this module puts them in.

Probes (Linux today, Windows and SSH beside it) only say what the machine
told them; this module alone decides what a report looks like, so every
probe's output reaches the collector in the same shape. The device id is
decided here too, by :func:`inventory.identity.device_identity`, the rule the
foreign-inventory converters use, so a machine is one device whichever way it
reports.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence

from inventory.identity import Clues, Interface, device_identity
from inventory.report import empty_report, rfc3339
from inventory.text import clean_hostname, clean_report, hostname_problem

from . import __version__

if TYPE_CHECKING:
    from .config import AgentConfig

AGENT_NAME = "hdc-agent"

# `hdc-agent inventory --print` without a configuration has no ward to name.
# "00000" is no GSO unit code, so a report carrying it can never be filed
# under a real ward by mistake; the collector's registry knows no such unit.
PLACEHOLDER_WARD = "00000"

MAX_NOTES = 256
MAX_NOTE_CHARS = 1024


class Facts:
    """What a probe read, already in the report's section shapes.

    ``collected_at`` is taken when reading starts, so the report says when
    the machine looked like this, not when the report happened to be built.
    A plain class rather than a dataclass: importing dataclasses (with
    inspect, ast and dis behind it) costs about 9 ms, a tenth of what
    `hdc-agent inventory --print` may cost a ward PC beyond Python itself.

    ``identity`` holds what the probe read that identifies the machine (raw
    SMBIOS UUID, installation id); the builder adds serial, hostname and
    interfaces from the sections and decides the id. A probe that gives no
    clues names its own candidate in ``device["id"]``/``["id_source"]``,
    which is read as a clue.
    """

    __slots__ = ("device", "hardware", "firmware", "os", "software", "interfaces", "notes", "collected_at",
                 "identity")

    def __init__(self, device: dict, hardware: dict, firmware: dict, os: dict, software: Optional[list] = None,
                 interfaces: Optional[list] = None, notes: Optional[list] = None,
                 collected_at: Optional[str] = None, identity: Optional[Clues] = None) -> None:
        self.device, self.hardware, self.firmware, self.os = device, hardware, firmware, os
        self.identity = identity
        self.software = software if software is not None else []
        self.interfaces = interfaces if interfaces is not None else []
        self.notes = notes if notes is not None else []
        self.collected_at = collected_at or rfc3339()

    def __repr__(self) -> str:
        return f"Facts(device={self.device!r}, os={self.os!r}, {len(self.software)} programs, {len(self.notes)} notes)"


def build_report(facts: Facts, config: Optional["AgentConfig"] = None,
                 reachability: Sequence[dict] = (), source: str = "agent") -> dict:
    """One fresh report (new report id) from ``facts``.

    Without ``config`` the ward is :data:`PLACEHOLDER_WARD`. A configured
    ``device_class`` wins over detection, and the report says so, because a
    misdetected class would hold the device to the wrong baseline.
    ``source`` is ``ssh`` for a host the SSH prober read.
    """
    ward = config.ward_code if config is not None else PLACEHOLDER_WARD
    report = empty_report(ward, AGENT_NAME, __version__, source)
    report["collected_at"] = facts.collected_at
    report["device"].update(facts.device)
    report["hardware"].update(facts.hardware)
    report["firmware"].update(facts.firmware)
    report["os"].update(facts.os)
    report["software"] = list(facts.software)
    report["network"] = {"reachability": list(reachability), "interfaces": list(facts.interfaces)}
    notes = list(facts.notes)
    _keep_hostname_safe(report["device"], notes)
    report["device"]["id"], report["device"]["id_source"] = device_identity(_clues(facts, report["device"]), notes)
    if config is None:
        notes.append(f"no configuration: ward code is the placeholder {PLACEHOLDER_WARD}")
    elif config.device_class and config.device_class != report["device"]["class"]:
        notes.append(f"device class set to {config.device_class} by configuration "
                     f"(detected: {report['device']['class']})")
        report["device"]["class"] = config.device_class
    report["notes"] = _bounded_notes(notes)
    # What a machine (or a host the SSH prober read) says is shown on pages and in exports: no control or
    # bidirectional characters, which the collector would refuse the whole report for (inventory/text.py).
    return clean_report(report)


def _keep_hostname_safe(device: dict, notes: list) -> None:
    """A host name the collector accepts: the machine's own, tidied, or ``unknown`` with a note saying why."""
    hostname = device.get("hostname")
    if hostname is None:
        return
    safe = clean_hostname(hostname)
    if safe != hostname:
        device["hostname"] = safe or "unknown"
        if safe is None:
            shown = hostname[:60].encode("unicode_escape").decode("ascii")
            notes.append(f"hostname: {shown!r} is not a host name ({hostname_problem(hostname.strip())}); "
                         "filed as unknown")


def _clues(facts: Facts, device: dict) -> Clues:
    clues = facts.identity
    if clues is None:
        own, kind = device.get("id"), device.get("id_source")
        clues = Clues(smbios_uuid=own if kind == "smbios-uuid" else None,
                      installation_id=own if kind in ("machine-id", "machine-guid") else None,
                      installation_source=kind if kind in ("machine-id", "machine-guid") else "foreign")
    return clues._replace(serial=device.get("serial"), hostname=device.get("hostname"),
                          interfaces=tuple(Interface(i.get("name"), i.get("mac")) for i in facts.interfaces))


def _bounded_notes(notes: list) -> list:
    """The schema caps notes; a machine that denies everything must still produce a valid report."""
    clipped = [n if len(n) <= MAX_NOTE_CHARS else n[:MAX_NOTE_CHARS - 3] + "..." for n in notes]
    if len(clipped) > MAX_NOTES:
        dropped = len(clipped) - (MAX_NOTES - 1)
        clipped = clipped[:MAX_NOTES - 1] + [f"{dropped} more notes left out"]
    return clipped
