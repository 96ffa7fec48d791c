"""Completing a partial inventory from the device's previous report.

GLPI Agent can send only the categories that changed since its last full
inventory (``"partial": true``; always with ``bios``, ``hardware`` and
``operatingsystem``). Read alone, such an inventory would make every
missing category unknown and flip a ready PC to "unknown". The parts it
does not describe are therefore carried over from the device's last stored
report, and the report says which parts and from when.
"""
from __future__ import annotations

import copy
from typing import Any, Optional

# Report part -> (where it lives in the report, the converter's note prefixes about it).
_PARTS = {
    "cpu": (("hardware", "cpu"), ("cpu:",)),
    "memory": (("hardware", "memory_bytes"), ("memory:",)),
    "disks": (("hardware", "disks"), ("disks:", "disk media:")),
    "system_disk": (("hardware", "system_disk"), ("system disk:",)),
    "firmware": (("firmware",), ("boot mode", "tpm:", "bios date:")),
    "os": (("os",), ("os:",)),
    "software": (("software",), ("software:",)),
    "interfaces": (("network", "interfaces"), ()),
}


def complete_partial(report: dict, covered: frozenset, previous: Optional[dict]) -> dict:
    """``report`` with every part outside ``covered`` taken from ``previous`` (a report of the same device)."""
    if previous is None:
        report["notes"] = (report["notes"] + ["partial inventory and no earlier report of this device: "
                                              "the parts it omits are unknown"])[:256]
        return report
    merged = copy.deepcopy(report)
    carried: list[str] = []
    dropped_prefixes: list[str] = []
    for part, (location, prefixes) in _PARTS.items():
        if part in covered:
            continue
        source: Any = previous
        for key in location:
            source = source.get(key) if isinstance(source, dict) else None
        if source is None:
            continue
        target = merged
        for key in location[:-1]:
            target = target.setdefault(key, {})
        target[location[-1]] = copy.deepcopy(source)
        carried.append(part.replace("_", " "))
        dropped_prefixes.extend(prefixes)
    notes = [n for n in merged["notes"] if not n.startswith(tuple(dropped_prefixes))]
    if carried:
        notes.append(f"partial inventory: {', '.join(carried)} carried over from report {previous.get('report_id')} "
                     f"collected at {previous.get('collected_at')}")
    merged["notes"] = notes[:256]
    return merged
