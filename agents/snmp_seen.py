"""What ``hdc-agent probe-snmp`` remembers of each device it reached: the identity a silent device is reported under.

A device that does not answer gives no serial and no MAC address, so
nothing in the silence says which device it is. The prober keeps, beside
its outbox (the same private directory, written atomically like the
outbox's own state), a small JSON file mapping each target (unit code and
address) to the ``device`` section of its last report and the time it was
read. A known target that falls silent is then reported under that
identity with its facts unknown; a target never reached stays a per-target
error. The format is documented in docs/snmp.md.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

from .atomic_file import atomic_write

log = logging.getLogger(__name__)

SEEN_FILE = ".snmp-seen.json"
FORMAT = 1
MAX_DEVICES = 4096  # a unit has dozens of devices; this bounds a file shared by a central prober
IDENTITY_KEYS = ("id", "id_source", "hostname", "serial", "manufacturer", "model", "class")
_REQUIRED = ("id", "id_source", "hostname", "class")


@dataclass(frozen=True)
class SeenDevice:
    """The ``device`` section of a target's last report, and when (RFC 3339) it was read."""

    device: Mapping[str, Optional[str]]
    reached_at: str


def target_key(unit_code: str, address: str) -> str:
    """One entry per unit and address: a central prober may read the same address for two units."""
    return f"{unit_code} {address}"


class SeenFile:
    """The file on disk; an unreadable one counts as a fresh start, with a warning, never a crash."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / SEEN_FILE

    def load(self) -> dict[str, SeenDevice]:
        try:
            raw = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("SNMP state %s unreadable (%s); silent devices are reported as not answering only",
                        self.path, exc)
            return {}
        entries = raw.get("devices") if isinstance(raw, dict) and raw.get("format") == FORMAT else None
        if not isinstance(entries, dict):
            log.warning("SNMP state %s is not format %d; starting afresh", self.path, FORMAT)
            return {}
        return {key: seen for key, seen in ((k, _entry(v)) for k, v in entries.items()) if seen is not None}

    def save(self, devices: Mapping[str, SeenDevice]) -> None:
        """Keeps the most recently reached :data:`MAX_DEVICES` devices."""
        newest = sorted(devices.items(), key=lambda item: item[1].reached_at, reverse=True)[:MAX_DEVICES]
        body = {"format": FORMAT, "devices": {key: {"reached_at": seen.reached_at, "device": dict(seen.device)}
                                              for key, seen in sorted(newest)}}
        atomic_write(self.path, json.dumps(body, ensure_ascii=False, indent=1).encode("utf-8"))


def seen_from_report(report: Mapping) -> SeenDevice:
    """What to remember of a device just read: its report's identity and collection time."""
    device = report["device"]
    return SeenDevice({key: device.get(key) for key in IDENTITY_KEYS}, report["collected_at"])


def _entry(raw: object) -> Optional[SeenDevice]:
    """An entry as written by :meth:`SeenFile.save`, or None (left out) when edited into something else."""
    if not isinstance(raw, dict) or not isinstance(raw.get("reached_at"), str) or not isinstance(raw.get("device"),
                                                                                                 dict):
        return None
    device = {key: raw["device"].get(key) for key in IDENTITY_KEYS}
    if any(not isinstance(device[key], str) or not device[key] for key in _REQUIRED) or \
            any(value is not None and not isinstance(value, str) for value in device.values()):
        return None
    return SeenDevice(device, raw["reached_at"])
