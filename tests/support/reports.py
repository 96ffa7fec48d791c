"""Reports built in code for tests: devices of a known kind with known readiness."""
from __future__ import annotations

import uuid
from datetime import datetime

from inventory.report import GiB, empty_report

GB = 1000 ** 3
SOFTWARE_LISTS = ([{"name": "HTKK 5.2.6", "version": "5.2.6", "publisher": "Tổng cục Thuế"}],
                  [{"name": "Google Chrome", "version": "131.0", "publisher": "Google LLC"}])


def windows_pc(ward: str = "00070", device: str = "dev-1", at: str = "2025-10-01T08:00:00Z",
               ram_gib: int = 4) -> dict:
    """An old Windows 10 PC of the kind the programme replaces: fails memory, TPM and CPU."""
    doc = empty_report(ward, "test", "1", "agent")
    doc["collected_at"] = at
    doc["device"].update(id=device, hostname="UB-HOANKIEM-PC01", **{"class": "workstation"})
    doc["hardware"]["cpu"].update(model="Intel(R) Core(TM) i5-4590 CPU @ 3.30GHz", vendor="GenuineIntel",
                                  family=6, model_number=60, stepping=3, logical_cores=4, physical_cores=4)
    doc["hardware"]["memory_bytes"] = ram_gib * GiB
    doc["hardware"]["system_disk"].update(mount="C:", size_bytes=500 * GB, free_bytes=200 * GB, media="hdd")
    doc["firmware"].update(boot_mode="legacy", secure_boot="unsupported",
                           tpm={"present": "no", "spec_version": None},
                           bios={"vendor": "Dell Inc.", "version": "A20", "date": "2014-06-01"})
    doc["os"].update(family="windows", id="windows", name="Windows 10 Pro", version="10", release="22H2",
                     edition="Professional", build="19045.5011", architecture="x86_64")
    doc["software"] = [{"name": "HTKK 5.2.6", "version": "5.2.6", "publisher": "Tổng cục Thuế"},
                       {"name": "Google Chrome", "version": "131.0", "publisher": "Google LLC"}]
    doc["network"]["reachability"] = [{"target": "hdc-portal", "ok": True, "latency_ms": 12.5},
                                      {"target": "hdc-portal", "ok": False, "error": "timeout"}]
    return doc


def modern_pc(device: str, unit: str, at: datetime, ram_gib: int, software: list) -> dict:
    """A recent Windows 11 desktop: ready with 8 GiB or more, not ready (memory) with less; a fresh report id."""
    doc = empty_report(unit, "test", "1", "agent")
    doc["report_id"] = str(uuid.uuid4())
    doc["collected_at"] = at.isoformat().replace("+00:00", "Z")
    doc["device"].update(id=device, hostname=f"pc-{device}", **{"class": "workstation"})
    doc["hardware"]["cpu"].update(model="Intel(R) Core(TM) i5-12400", vendor="GenuineIntel", family=6,
                                  model_number=151, stepping=5, logical_cores=12, physical_cores=6)
    doc["hardware"]["memory_bytes"] = ram_gib * GiB
    doc["hardware"]["system_disk"].update(mount="C:", size_bytes=476 * GiB, free_bytes=300 * GiB, media="ssd")
    doc["firmware"].update(boot_mode="uefi", secure_boot="enabled", tpm={"present": "yes", "spec_version": "2.0"},
                           bios={"vendor": "AMI", "version": "1.2", "date": "2023-03-01"})
    doc["os"].update(family="windows", name="Windows 11 Pro", id="windows", version="11", release="25H2",
                     edition="Professional", build="26200.1", architecture="x86_64")
    doc["software"] = software
    doc["network"]["reachability"] = [{"target": "hdc-portal", "ok": at.day % 3 != 0, "latency_ms": 5.0}]
    return doc
