"""The schema-v2 report a simulated machine would send on a given day.

Rendering is separate from the fleet's model so the same machine can be
reported at any moment: its OS release, free space, reachability of the HDC
endpoints and the applications still installed follow the day.
"""
from __future__ import annotations

import random
import uuid
from datetime import date, datetime
from urllib.parse import urlsplit

from collector import __version__
from collector.simulate.cloud import APP_ENDPOINTS, HDC_CLOUD_START
from collector.simulate.equipment import Equipment, render_equipment
from collector.simulate.fleet import Device, Slot
from collector.simulate.machines import LINUX, NAMESPACE, WINDOWS_SERVER, Machine, win11_release
from collector.simulate.software import APP_OF_ROW
from inventory.report import GiB, empty_report, rfc3339

AGENT_NAME = "hdc-simulator"
_EDITION_NAME = {"Professional": "Pro", "Core": "Home", "ServerStandard": "Standard",
                 "ServerDatacenter": "Datacenter"}


# --------------------------------------------------------------------------- network

HDC_TARGETS = (("hdc-portal", "https://dichvucong.hanoi.gov.vn/"),
               ("hdc-cloud", "https://cloud.hdc.hanoi.gov.vn/healthz"),
               ("hdc-mail", "https://mail.hanoi.gov.vn/"))
_ERRORS = ("timed out after 5 s", "connection refused", "name or service not known",
           "TLS handshake failed: certificate verify failed")
_STEP_OF = dict(zip(_ERRORS, ("connect", "connect", "resolve", "tls")))


# --------------------------------------------------------------------------- reports

def render_report(slot: Slot, machine: Device, when: datetime) -> dict:
    """The schema-v2 report ``machine`` would send at ``when`` (schema 3 for network and power equipment)."""
    if isinstance(machine, Equipment):
        return render_equipment(slot.ward.code, slot.hostname, slot.address, machine, when)
    stamp = rfc3339(when)
    doc = empty_report(slot.ward.code, AGENT_NAME, __version__, "simulator")
    doc["report_id"] = str(uuid.uuid5(NAMESPACE, f"{machine.device_id}|{stamp}"))
    doc["collected_at"] = stamp
    rng = random.Random(doc["report_id"])
    platform = machine.platform
    doc["device"] = {"id": machine.device_id, "id_source": machine.id_source, "hostname": slot.hostname,
                     "serial": machine.serial, "manufacturer": platform.manufacturer, "model": platform.model,
                     "class": platform.device_class}
    doc["hardware"] = _hardware(machine, rng)
    doc["firmware"] = _firmware(machine)
    doc["os"] = _os(machine, when.date())
    gone = slot.migration.moved_by(when.date()) if slot.migration else frozenset()
    doc["software"] = [{"name": n, "version": v, "publisher": p} for n, v, p in machine.software
                       if APP_OF_ROW.get((n, v, p)) not in gone]
    doc["network"] = {"reachability": _reachability(slot, when.date(), rng),
                      "interfaces": [_interface(slot, machine)]}
    if machine.tpm == "unknown":
        doc["notes"] = ["tpm: Get-Tpm failed: Access denied (the agent is not running elevated)"]
    return doc


def _hardware(machine: Machine, rng: random.Random) -> dict:
    cpu, disk = machine.cpu, machine.disk
    linux = machine.os in LINUX
    names = ("nvme0n1" if "NVMe" in disk.model or "MZVLB" in disk.model else "sda", "sdb") if linux else \
        ("\\\\.\\PHYSICALDRIVE0", "\\\\.\\PHYSICALDRIVE1")
    # The system volume is the disk less its EFI, MSR and recovery partitions.
    volume = disk.size_bytes - 1_073_741_824
    disks = [{"name": names[0], "model": disk.model, "size_bytes": disk.size_bytes, "media": disk.media,
              "system": True}]
    if machine.data_disk:
        d = machine.data_disk
        disks.append({"name": names[1], "model": d.model, "size_bytes": d.size_bytes, "media": d.media,
                      "system": False})
    free = int(volume * max(0.01, min(0.95, machine.free_fraction + rng.uniform(-0.02, 0.02))))
    return {
        "cpu": {"model": cpu.model, "vendor": cpu.vendor, "family": cpu.family, "model_number": cpu.model_number,
                "stepping": cpu.stepping, "logical_cores": cpu.threads, "physical_cores": cpu.cores,
                "max_mhz": float(cpu.mhz)},
        "memory_bytes": int(machine.memory_gib * GiB * machine.memory_visible) // 4096 * 4096,
        "disks": disks,
        "system_disk": {"mount": "/" if linux else "C:", "size_bytes": volume, "free_bytes": free,
                        "media": disk.media},
    }


def _firmware(machine: Machine) -> dict:
    tpm = {"2.0": ("yes", "2.0"), "1.2": ("yes", "1.2"), "none": ("no", None), "unknown": ("unknown", None)}
    present, spec = tpm[machine.tpm]
    return {"boot_mode": machine.boot, "secure_boot": machine.secure_boot,
            "tpm": {"present": present, "spec_version": spec},
            "bios": {"vendor": machine.platform.bios_vendor, "version": machine.platform.bios_version,
                     "date": machine.bios_date.isoformat()}}


def _os(machine: Machine, day: date) -> dict:
    if machine.os in LINUX:
        name, distro, version, kernel = LINUX[machine.os]
        return {"family": "linux", "name": name, "id": distro, "version": version, "release": None,
                "edition": None, "build": None, "kernel": kernel, "architecture": "x86_64"}
    edition = _EDITION_NAME[machine.edition]
    if machine.os in WINDOWS_SERVER:
        version, build, ubr, release = WINDOWS_SERVER[machine.os]
        name, os_id = f"Windows Server {version} {edition}", "windows-server"
    elif machine.os == "win11":
        release, build, ubr = win11_release(day, machine.win11_lag)
        name, os_id, version = f"Windows 11 {edition}", "windows", "11"
    else:
        release, build, ubr = "22H2", 19045, 5247
        name, os_id, version = f"Windows 10 {edition}", "windows", "10"
    return {"family": "windows", "name": name, "id": os_id, "version": version, "release": release,
            "edition": machine.edition, "build": f"{build}.{ubr}", "kernel": f"10.0.{build}",
            "architecture": "AMD64"}


def _reachability(slot: Slot, day: date, rng: random.Random) -> list[dict]:
    """The HDC cloud answers from December 2025; some units' links are slow or filtered.

    Checks carry schema v2's steps as the agent reports them (``agents.reachability.Check``): the TCP
    connect takes about a third of the answer, and a failure names the step it stopped at.
    """
    results = []
    for target, url in HDC_TARGETS:
        down = (target == "hdc-cloud" and (day < HDC_CLOUD_START or slot.network == "cloud_blocked")
                or slot.network == "degraded" and rng.random() < 0.3)
        base = 180.0 if slot.network == "degraded" else 12.0
        if down:
            results.append(_failed(target, url, rng.choice(_ERRORS), base))
        else:
            results.append(_answered(target, url, round(base * rng.uniform(0.6, 3.0), 1)))
    checked = slot.migration.checked if slot.migration else frozenset()
    for app_id, url, live, cloud in APP_ENDPOINTS:
        if app_id not in checked:
            continue
        down = (day < live or cloud and slot.network == "cloud_blocked"
                or slot.network == "degraded" and rng.random() < 0.3)
        host = urlsplit(url).hostname
        assert host is not None  # the catalog's HDC endpoints are absolute URLs with a host
        results.append(_failed(host, url, rng.choice(_ERRORS), 15.0) if down else
                       _answered(host, url, round(15.0 * rng.uniform(0.6, 3.0), 1)))
    return results


def _answered(target: str, url: str, latency_ms: float) -> dict:
    return {"target": target, "url": url, "ok": True, "latency_ms": latency_ms,
            "connect_ms": round(latency_ms / 3, 1), "tls_ok": True if url.startswith("https:") else None,
            "tls_error": None, "http_status": 200, "failed_step": None, "via_proxy": False, "error": None}


def _failed(target: str, url: str, error: str, base_ms: float) -> dict:
    """A check that failed with one of ``_ERRORS``: resolving, connecting, or the TLS handshake after a connect."""
    step = _STEP_OF[error]
    tls = step == "tls"
    return {"target": target, "url": url, "ok": False, "latency_ms": None,
            "connect_ms": round(base_ms / 3, 1) if tls else None, "tls_ok": False if tls else None,
            "tls_error": error.split(": ", 1)[1] if tls else None, "http_status": None, "failed_step": step,
            "via_proxy": False, "error": error}


def _interface(slot: Slot, machine: Machine) -> dict:
    mac = uuid.uuid5(NAMESPACE, machine.device_id).hex[:12]
    laptop = machine.platform.device_class == "laptop"
    name = "eth0" if machine.os in LINUX else "Wi-Fi" if laptop else "Ethernet"
    return {"name": name, "mac": ":".join(mac[i:i + 2] for i in range(0, 12, 2)).upper(),
            "addresses": [slot.address]}

