"""Which device a foreign inventory speaks for, and which report id it becomes.

The device id follows :mod:`inventory.identity`, the one rule our agent and
the SSH prober use too, so a PC that reports through hdc-agent and through a
GLPI/FusionInventory/OCS agent is one device. This module only gathers the
clues from the GLPI-format content (``hardware.uuid``, ``bios.ssn``,
``networks``, the agent's DEVICEID) and makes the report id.
"""
from __future__ import annotations

import hashlib
import uuid
from typing import Optional

from ..identity import Clues, Interface, device_identity
from .errors import ConversionError
from .values import entries, text

# Fixed namespace for report ids derived from foreign inventories (uuid5 over device id and content).
REPORT_NAMESPACE = uuid.UUID("5f0c6a9e-3b1d-5c8e-9a57-6b1f0f3c2d41")


def foreign_identity(content: dict, smbios_uuid: Optional[str], serial: Optional[str], deviceid: Optional[str],
                     hostname: Optional[str], source: str, notes: list[str]) -> tuple[str, str]:
    """``(id, id_source)`` by the shared rule; the agent's DEVICEID stands in for an installation id."""
    interfaces = tuple(Interface(text(entry, "description", path), text(entry, "mac", path)
                                 or text(entry, "macaddr", path)) for entry, path in entries(content, "networks"))
    clues = Clues(smbios_uuid=smbios_uuid, serial=serial, hostname=hostname, interfaces=interfaces,
                  installation_id=f"{source}:{deviceid}" if deviceid else None, installation_source="foreign")
    try:
        return device_identity(clues, notes)
    except ValueError as exc:
        raise ConversionError((), str(exc)) from None


def report_id(device_id: str, content_digest: str) -> str:
    """The same inventory sent twice gets the same id, so the collector stores it once."""
    return str(uuid.uuid5(REPORT_NAMESPACE, f"{device_id}\n{content_digest}"))


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
