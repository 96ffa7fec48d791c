"""Operating-system names as inventories spell them -> the report's ``os`` section.

The end-of-support table (``inventory/data/os-lifecycle.yaml``) is keyed by
the ids our own agent reports: ``windows``, ``windows-server``, and the
os-release ``ID`` of Linux distributions (``debian``, ``ubuntu``, ``rhel``).
FusionInventory, GLPI and OCS agents instead send the distributor's name
("Debian GNU/Linux", "Red Hat Enterprise Linux") and, on Windows, the
localized caption ("Microsoft Windows 8.1 Professionnel") and kernel version
("10.0.19045"). This module maps those onto the same ids, versions, editions
and build numbers, so one table judges every source. What it cannot map
stays unknown (an id the table does not list gives an unknown verdict).
"""
from __future__ import annotations

import re
from typing import Any, Optional

# Distributor names (lower case, prefix match, most specific first) -> os-release ID.
_DISTROS = (
    ("red hat enterprise", "rhel"), ("redhatenterprise", "rhel"), ("rhel", "rhel"),
    ("centos", "centos"), ("rocky", "rocky"), ("almalinux", "almalinux"), ("alma linux", "almalinux"),
    ("oracle linux", "ol"), ("linux mint", "linuxmint"), ("linuxmint", "linuxmint"),
    ("opensuse", "opensuse"), ("suse linux enterprise", "sles"), ("sles", "sles"), ("suse", "sles"),
    ("debian", "debian"), ("ubuntu", "ubuntu"), ("fedora", "fedora"), ("amazon", "amzn"),
    ("arch", "arch"), ("alpine", "alpine"), ("kali", "kali"), ("raspbian", "raspbian"),
)
# Windows caption words -> EditionID, the key of the lifecycle table's edition groups.
# Captions are localized; the French and Vietnamese words seen in the field are listed too.
_EDITIONS = (
    (r"iot enterprise ltsc|iot enterprise ltsb", "IoTEnterpriseS"),
    (r"enterprise ltsc|enterprise ltsb|entreprise ltsc|entreprise ltsb|enterprise 2015 ltsb|enterprise 2016 ltsb",
     "EnterpriseS"),
    (r"iot enterprise", "IoTEnterprise"),
    (r"pro education|professionnel [ée]ducation", "ProfessionalEducation"),
    (r"pro for workstations|professionnel pour les stations de travail", "ProfessionalWorkstation"),
    (r"home single language|famille langue unique", "CoreSingleLanguage"),
    (r"enterprise|entreprise", "Enterprise"),
    (r"education|[ée]ducation", "Education"),
    (r"pro|professional|professionnel", "Professional"),
    (r"home|famille", "Core"),
    (r"datacenter", "ServerDatacenter"),
    (r"standard", "ServerStandard"),
    (r"essentials", "ServerEssentials"),
)
_TRADEMARKS = re.compile(r"\((?:r|tm)\)|®|™", re.IGNORECASE)
_WINDOWS_VERSION = re.compile(r"windows\s+(?:server\s+)?(\d{4}(?:\s*r2)?|xp|vista|\d+(?:\.\d+)?)\b", re.IGNORECASE)
_WINDOWS_RELEASE = re.compile(r"^(\d{4}|\d{2}H\d)$", re.IGNORECASE)
_WINDOWS_KERNEL = re.compile(r"^\s*\d+\.\d+\.(\d+(?:\.\d+)?)")
_VERSION = re.compile(r"\b(\d+(?:\.\d+)*)")
_MAC_BUILD = re.compile(r"\(([0-9A-Za-z]+)\)")


def _clip(value: Optional[str], limit: int) -> Optional[str]:
    return value[:limit] if value else None


def os_section(name: Optional[str], full_name: Optional[str], version: Optional[str],
               kernel_name: Optional[str], kernel_version: Optional[str], arch: Optional[str],
               notes: list[str]) -> dict:
    """The report's ``os`` from what an inventory says; ``notes`` receives what could not be told."""
    words = " ".join(filter(None, (name, full_name, kernel_name))).lower()
    kernel = (kernel_name or "").lower()
    if kernel in ("mswin32", "win32", "windows") or "windows" in words:
        # OCS puts the service pack in its "full name" (OSCOMMENTS): use whichever names Windows.
        caption = next((c for c in (full_name, name) if c and "windows" in c.lower()), None)
        result = _windows(caption or "Windows", version, kernel_version)
    elif kernel == "darwin" or re.search(r"mac\s?os|os x|macosx", words):
        result = _macos(full_name or name or "macOS", version)
    elif kernel == "linux" or any(words.startswith(p) or f" {p}" in words for p, _ in _DISTROS):
        result = _linux(name, full_name, version)
        result["kernel"] = _clip(kernel_version, 128)
    elif name or full_name:
        label = full_name or name or ""
        slug = re.sub(r"[^a-z0-9]+", "-", (name or label).lower()).strip("-") or "unknown"
        result = {"family": "other", "name": label, "id": slug,
                  "version": _clip(_first_version(version or label), 64), "kernel": _clip(kernel_version, 128)}
        notes.append(f"os: {label[:80]!r} is not an operating system the end-of-support table knows")
    else:
        notes.append("os: the inventory names no operating system")
        result = {"family": "other", "name": "unknown", "id": "unknown", "version": None}
    base: dict[str, Any] = {"release": None, "edition": None, "build": None, "kernel": None}
    base.update(result)
    base["name"] = base["name"][:256]
    base["architecture"] = _clip(arch, 32)
    return base


def _windows(caption: str, version: Optional[str], kernel_version: Optional[str]) -> dict:
    """Version from the caption, build from the kernel version, feature release from VERSION where given."""
    plain = " ".join(_TRADEMARKS.sub("", caption).split())
    server = "server" in plain.lower()
    found = _WINDOWS_VERSION.search(plain)
    product = " ".join(found.group(1).split()).upper() if found else None
    if product:
        product = {"VISTA": "Vista"}.get(product, re.sub(r"^(\d{4})R2$", r"\1 R2", product))
    build = _WINDOWS_KERNEL.match(kernel_version or "")
    release = version.strip() if version and _WINDOWS_RELEASE.match(version.strip()) else None
    edition = None
    lowered = plain.lower()
    for pattern, edition_id in _EDITIONS:
        if re.search(rf"\b(?:{pattern})\b", lowered) and (server or not edition_id.startswith("Server")):
            edition = edition_id
            break
    return {"family": "windows", "name": plain or "Windows", "id": "windows-server" if server else "windows",
            "version": product, "release": release, "edition": edition,
            "build": build.group(1) if build else None, "kernel": _clip(kernel_version, 128)}


def _linux(name: Optional[str], full_name: Optional[str], version: Optional[str]) -> dict:
    label = (name or full_name or "").strip()
    lowered = label.lower()
    distro = next((pid for prefix, pid in _DISTROS if lowered.startswith(prefix)), None)
    if distro is None:
        distro = re.sub(r"[^a-z0-9]+", "-", lowered.split(" ")[0]).strip("-") or "linux"
    return {"family": "linux", "name": full_name or " ".join(filter(None, (name, version))) or "Linux",
            "id": distro, "version": _clip(_first_version(version) or _first_version(full_name or name), 64)}


def _macos(label: str, version: Optional[str]) -> dict:
    build = _MAC_BUILD.search(version or "")
    return {"family": "macos", "name": label, "id": "macos", "version": _clip(_first_version(version), 64),
            "build": build.group(1) if build else None}


def _first_version(text: Optional[str]) -> Optional[str]:
    found = _VERSION.search(text or "")
    return found.group(1) if found else None
