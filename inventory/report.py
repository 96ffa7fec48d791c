"""Small helpers every report producer shares (agent, SSH prober, converters, simulator)."""
from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Optional

from .schema import CURRENT_VERSION

GiB = 1024 ** 3


def new_report_id() -> str:
    """A fresh id per report: retries of the same report reuse it, new collections never do.

    A random (version 4) UUID, made the way ``uuid.uuid4`` makes it; importing
    ``uuid`` (and ``platform`` behind it) would cost the agent more than the
    rest of this module on every run of a ward PC.
    """
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def rfc3339(moment: Optional[datetime] = None) -> str:
    """UTC time in the form the schema wants (seconds precision, ``Z``)."""
    moment = (moment or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> datetime:
    """Parse a schema time back into an aware datetime (``Z`` or an offset)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def empty_report(ward_code: str, agent_name: str, agent_version: str, source: str) -> dict:
    """A report with every required section present and every fact unknown.

    Producers fill in what they can read; whatever they cannot stays
    explicitly unknown instead of being guessed.
    """
    return {
        "schema_version": CURRENT_VERSION,
        "report_id": new_report_id(),
        "collected_at": rfc3339(),
        "ward_code": ward_code,
        "agent": {"name": agent_name, "version": agent_version, "source": source},
        "device": {"id": "", "id_source": "hostname", "hostname": "", "serial": None,
                   "manufacturer": None, "model": None, "class": "other"},
        "hardware": {
            "cpu": {"model": None, "vendor": None, "family": None, "model_number": None,
                    "stepping": None, "logical_cores": None, "physical_cores": None, "max_mhz": None},
            "memory_bytes": None,
            "disks": [],
            "system_disk": {"mount": "/", "size_bytes": None, "free_bytes": None, "media": "unknown"},
        },
        "firmware": {
            "boot_mode": "unknown",
            "secure_boot": "unknown",
            "tpm": {"present": "unknown", "spec_version": None},
            "bios": {"vendor": None, "version": None, "date": None},
        },
        "os": {"family": "other", "name": "unknown", "id": "unknown", "version": None, "release": None,
               "edition": None, "build": None, "kernel": None, "architecture": None},
        "software": [],
        "network": {"reachability": [], "interfaces": []},
        "notes": [],
    }
