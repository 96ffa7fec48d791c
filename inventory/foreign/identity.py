"""Which device an inventory speaks for, and which report id it becomes.

The SMBIOS UUID comes first because our own agent uses it too: a PC that
reports through hdc-agent and through a GLPI agent is then one device. The
UUID is written the way Linux's ``/sys/class/dmi/id/product_uuid`` and
Windows' ``Win32_ComputerSystemProduct.UUID`` print it, which is also what
FusionInventory, GLPI and OCS agents send; only case differs, so it is
lower-cased. Without a usable UUID the system serial number identifies the
machine (``serial:<serial>``); without either, the agent's own DEVICEID,
which is stable for one agent installation (``<source>:<deviceid>``).

Firmware vendors fill both fields with placeholders; those identify nothing
and are refused, with a note saying so.
"""
from __future__ import annotations

import hashlib
import re
import uuid
from typing import Optional

from ..smbios import is_placeholder, smbios_uuid as usable_uuid
from .errors import ConversionError

# Fixed namespace for report ids derived from foreign inventories (uuid5 over device id and content).
REPORT_NAMESPACE = uuid.UUID("5f0c6a9e-3b1d-5c8e-9a57-6b1f0f3c2d41")

_ALL_SAME = re.compile(r"^(.)\1*$")


def real_value(value: Optional[str]) -> Optional[str]:
    """``value`` unless it is a firmware placeholder (``To Be Filled By O.E.M.``, ``0000000000``)."""
    if value is None:
        return None
    if is_placeholder(value) or _ALL_SAME.match(value.strip()):
        return None
    return value.strip()


def device_identity(smbios_uuid: Optional[str], serial: Optional[str], deviceid: Optional[str],
                    hostname: Optional[str], source: str, notes: list[str]) -> tuple[str, str]:
    """``(id, id_source)`` by the rule in the module docstring; notes say why a better id was not used."""
    if smbios_uuid:
        candidate = usable_uuid(smbios_uuid)
        if candidate:
            return candidate, "smbios-uuid"
        notes.append(f"device id: SMBIOS UUID {smbios_uuid[:60]!r} is not a usable UUID")
    serial = real_value(serial)
    if serial:
        return f"serial:{serial}"[:128], "serial"
    if deviceid:
        notes.append("device id: no SMBIOS UUID or serial number; the agent's DEVICEID is used, "
                     "so a reinstalled agent appears as a new device")
        return f"{source}:{deviceid}"[:128], "foreign"
    if hostname:
        notes.append("device id: only the hostname identifies this device; it may not be unique or stable")
        return hostname[:128], "hostname"
    raise ConversionError((), "nothing identifies the device: no SMBIOS UUID, serial number, DEVICEID or hostname")


def report_id(device_id: str, content_digest: str) -> str:
    """The same inventory sent twice gets the same id, so the collector stores it once."""
    return str(uuid.uuid5(REPORT_NAMESPACE, f"{device_id}\n{content_digest}"))


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
