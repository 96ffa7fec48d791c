"""Baseline rules: what a device of each class must have to count as ready.

The rules are data (``data/baseline.yaml``) so the city can tighten them
without a release. A baseline that is wrong would silently judge hundreds of
machines wrongly, so loading is strict: every problem is reported with file,
line and field, and the file's sha256 is kept so each verdict can say which
baseline judged it.
"""
from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Optional, Sequence

from .datafile import DataFile, DataFileError, decode, read_bytes

DEFAULT_BASELINE = "baseline.yaml"
DEVICE_CLASSES = ("workstation", "laptop", "server", "virtual_machine", "other",
                  "switch", "router", "firewall", "access_point", "printer", "ups", "nas")
SEVERITIES = ("hard", "soft")
OS_FAMILIES = ("windows", "linux", "macos", "other")


class BaselineError(DataFileError):
    """A baseline file that cannot be trusted."""


# --------------------------------------------------------------------------- sizes

_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]+)\s*$")
_UNITS = {"b": 1, "kb": 1000, "mb": 1000 ** 2, "gb": 1000 ** 3, "tb": 1000 ** 4,
          "kib": 1024, "mib": 1024 ** 2, "gib": 1024 ** 3, "tib": 1024 ** 4}
_IEC = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def parse_size(text: str) -> int:
    """Bytes in a size such as ``8 GiB`` or ``256 GB``; both unit families because both appear on invoices."""
    match = _SIZE.match(text) if isinstance(text, str) else None
    if not match or match.group(2).lower() not in _UNITS:
        raise ValueError(f"{text!r} is not a size (e.g. '8 GiB'; units: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def format_size(n: int) -> str:
    """IEC size rounded down to one decimal, so a value just under a minimum never prints as the minimum."""
    value, unit = float(n), 0
    while value >= 1024 and unit < len(_IEC) - 1:
        value /= 1024
        unit += 1
    shown = math.floor(value * 10) / 10
    return f"{shown:.1f}".rstrip("0").rstrip(".") + f" {_IEC[unit]}"


# --------------------------------------------------------------------------- rules

@dataclass(frozen=True)
class _Kind:
    """What one rule kind accepts: its parameters and default titles."""

    title_vi: str
    title_en: str
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()


KINDS: Mapping[str, _Kind] = MappingProxyType({
    "min_memory": _Kind("Dung lượng RAM", "Memory size", ("min",), ("tolerance_percent",)),
    "min_system_disk": _Kind("Dung lượng ổ hệ thống", "System disk size", ("min",), ("tolerance_percent",)),
    "min_system_disk_free": _Kind("Dung lượng trống ổ hệ thống", "Free space on the system disk", ("min",),
                                  ("tolerance_percent",)),
    "system_disk_ssd": _Kind("Ổ hệ thống là SSD", "System disk is an SSD"),
    "min_logical_cores": _Kind("Số nhân CPU", "CPU logical cores", ("min",)),
    "os_supported": _Kind("Hệ điều hành còn được hỗ trợ", "Operating system still supported", (),
                          ("min_days_left",)),
    "tpm_min_version": _Kind("Phiên bản TPM", "TPM version", ("min",)),
    "uefi": _Kind("Khởi động UEFI", "UEFI boot"),
    "secure_boot": _Kind("Secure Boot", "Secure Boot"),
    "win11_cpu": _Kind("CPU hỗ trợ Windows 11", "CPU supported by Windows 11"),
    "max_device_age_years": _Kind("Tuổi thiết bị", "Device age", ("max",)),
    # Network and power equipment (report schema 3, network_device section).
    "equipment_supported": _Kind("Thiết bị và firmware còn được hãng hỗ trợ",
                                 "Equipment and firmware still supported by the vendor"),
    "min_uplink_speed": _Kind("Tốc độ đường uplink", "Uplink speed", ("min_mbps",)),
    "max_slow_ports": _Kind("Tỷ lệ cổng chạy 100 Mbit/s trở xuống", "Share of ports at 100 Mbit/s or less",
                            ("max_percent",), ("slow_mbps",)),
    "ups_battery": _Kind("Ắc quy UPS", "UPS battery"),
    "min_ups_runtime": _Kind("Thời gian lưu điện của UPS", "UPS runtime on battery", ("min_minutes",)),
    "printer_supplies": _Kind("Vật tư máy in", "Printer supplies"),
})
_COMMON = ("id", "kind", "severity")
_COMMON_OPTIONAL = ("os_family", "title_vi", "title_en")
_RULE_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_VERSION = re.compile(r"^[0-9]+\.[0-9]+$")
_SIZE_KINDS = ("min_memory", "min_system_disk", "min_system_disk_free")


@dataclass(frozen=True)
class Rule:
    """One check with its parameters, already validated and converted (sizes in bytes)."""

    id: str
    kind: str
    severity: str
    params: Mapping[str, Any]
    os_family: Optional[tuple[str, ...]] = None
    title_vi: str = ""
    title_en: str = ""

    def applies_to_family(self, family: str) -> bool:
        return self.os_family is None or family in self.os_family


class Baseline:
    """The rules per device class, resolved once at load (``default`` + ``extends`` chain + own rules)."""

    def __init__(self, name: str, fingerprint: str, source: str, rules: Mapping[str, Sequence[Rule]]):
        self.name = name
        self.fingerprint = fingerprint
        self.source = source
        self._rules = {cls: tuple(rules[cls]) for cls in DEVICE_CLASSES}

    def rules_for(self, device_class: str) -> list[Rule]:
        """Rules for a class; an unexpected class gets the ``other`` rules rather than none."""
        return list(self._rules.get(device_class, self._rules["other"]))

    def rule_ids(self) -> list[str]:
        return sorted({r.id for rules in self._rules.values() for r in rules})

    def all_rules(self) -> list[Rule]:
        """One rule per id (the first class defining it), sorted by id: for titles and legends."""
        seen: dict[str, Rule] = {}
        for cls in DEVICE_CLASSES:
            for rule in self._rules[cls]:
                seen.setdefault(rule.id, rule)
        return [seen[i] for i in sorted(seen)]


def _parse_rule(f: DataFile, raw: Any, field: str, line: int) -> Rule:
    raw = f.mapping(raw, field, line)
    for key in _COMMON:
        if key not in raw:
            f.fail(f.line(raw), f"{field}.{key}", "required")
    kind = raw["kind"]
    if not isinstance(kind, str) or kind not in KINDS:
        f.fail(f.line(raw, "kind"), f"{field}.kind", f"{kind!r} is not a rule kind; known: {', '.join(KINDS)}")
    spec = KINDS[kind]
    f.mapping(raw, field, line, _COMMON + spec.required, _COMMON_OPTIONAL + spec.optional)
    rule_id = raw["id"]
    if not isinstance(rule_id, str) or not _RULE_ID.match(rule_id):
        f.fail(f.line(raw, "id"), f"{field}.id", f"{rule_id!r} is not a rule id (lower case, digits, '_')")
    severity = raw["severity"]
    if severity not in SEVERITIES:
        f.fail(f.line(raw, "severity"), f"{field}.severity", f"{severity!r} is not one of hard, soft")
    params = {key: _parse_param(f, raw, key, kind, f"{field}.{key}") for key in spec.required + spec.optional
              if key in raw}
    return Rule(rule_id, kind, severity, MappingProxyType(params), _parse_families(f, raw, field),
                f.text(raw, "title_vi", f"{field}.title_vi") if "title_vi" in raw else spec.title_vi,
                f.text(raw, "title_en", f"{field}.title_en") if "title_en" in raw else spec.title_en)


def _parse_param(f: DataFile, raw: Mapping[str, Any], key: str, kind: str, field: str) -> Any:
    value, line = raw[key], f.line(raw, key)
    if key == "min" and kind in _SIZE_KINDS:
        try:
            return parse_size(value)
        except ValueError as exc:
            f.fail(line, field, str(exc))
    if key == "tolerance_percent":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 50:
            f.fail(line, field, f"{value!r} is not a percentage from 0 to under 50")
        return float(value)
    if key == "min" and kind == "tpm_min_version":
        if not isinstance(value, str) or not _VERSION.match(value):
            f.fail(line, field, f"{value!r} is not a TPM version such as '2.0' (quote it)")
        return value
    if key == "max_percent":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
            f.fail(line, field, f"{value!r} is not a whole percentage from 0 to 100")
        return value
    if key == "max":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 100:
            f.fail(line, field, f"{value!r} is not a number of years from 0 to 100")
        return float(value)
    # min_logical_cores.min, os_supported.min_days_left, Mbit/s and minutes: whole numbers in a sane range.
    lowest, highest = (1, 65536) if key == "min" else (0, 36500)
    if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= highest:
        f.fail(line, field, f"{value!r} is not a whole number from {lowest} to {highest}")
    return value


def _parse_families(f: DataFile, raw: Mapping[str, Any], field: str) -> Optional[tuple[str, ...]]:
    if "os_family" not in raw:
        return None
    value = raw["os_family"]
    values = value if isinstance(value, list) else [value]
    for item in values:
        if item not in OS_FAMILIES:
            f.fail(f.line(raw, "os_family"), f"{field}.os_family",
                   f"{item!r} is not one of {', '.join(OS_FAMILIES)}")
    if not values:
        f.fail(f.line(raw, "os_family"), f"{field}.os_family", "empty list")
    return tuple(values)


def _parse_rule_list(f: DataFile, section: Mapping[str, Any], field: str) -> list[tuple[Rule, int, str]]:
    """Rules of one section, with the line and field of each for later cross-checks."""
    if "rules" not in section:
        return []
    items = f.sequence(section["rules"], f"{field}.rules", f.line(section, "rules"))
    out: list[tuple[Rule, int, str]] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(items):
        item_field, line = f"{field}.rules[{i}]", f.line(items, i)
        rule = _parse_rule(f, raw, item_field, line)
        if rule.id in seen:
            f.fail(line, f"{item_field}.id", f"duplicate rule id {rule.id!r} (first on line {seen[rule.id]})")
        seen[rule.id] = line
        out.append((rule, line, item_field))
    return out


def parse_baseline(text: str, source: str, fingerprint: str) -> Baseline:
    f = DataFile(text, source, BaselineError)
    root = f.mapping(f.root, "", 1, ("name",), ("default", "classes"))
    name = f.text(root, "name", "name")
    default: list[tuple[Rule, int, str]] = []
    if "default" in root:
        section = f.mapping(root["default"], "default", f.line(root, "default"), (), ("rules",))
        default = _parse_rule_list(f, section, "default")
    sections: dict[str, Mapping[str, Any]] = {}
    own: dict[str, list[tuple[Rule, int, str]]] = {}
    if "classes" in root:
        classes = f.mapping(root["classes"], "classes", f.line(root, "classes"))
        for cls, section in classes.items():
            field = f"classes.{cls}"
            if cls not in DEVICE_CLASSES:
                f.fail(f.line(classes, cls), field,
                       f"{cls!r} is not a device class; known: {', '.join(DEVICE_CLASSES)}")
            sections[cls] = f.mapping(section, field, f.line(classes, cls), (), ("extends", "rules", "skip_default"))
            if not isinstance(sections[cls].get("skip_default", False), bool):
                f.fail(f.line(sections[cls], "skip_default"), f"{field}.skip_default", "expected true or false")
            own[cls] = _parse_rule_list(f, sections[cls], field)
    resolved = {cls: _resolve(f, cls, sections, own, default, ()) for cls in DEVICE_CLASSES}
    _check_consistency(f, resolved)
    return Baseline(name, fingerprint, source, {cls: [r for r, _, _ in rules] for cls, rules in resolved.items()})


def _resolve(f: DataFile, cls: str, sections: Mapping[str, Mapping[str, Any]],
             own: Mapping[str, list[tuple[Rule, int, str]]], default: list[tuple[Rule, int, str]],
             chain: tuple[str, ...]) -> list[tuple[Rule, int, str]]:
    """Inherited rules first, then the class's own; an own rule with an inherited id replaces it."""
    section = sections.get(cls, {})
    if "extends" in section:
        parent, line = section["extends"], f.line(section, "extends")
        field = f"classes.{cls}.extends"
        if parent not in DEVICE_CLASSES:
            f.fail(line, field, f"{parent!r} is not a device class; known: {', '.join(DEVICE_CLASSES)}")
        if parent == cls or parent in chain:
            f.fail(line, field, "classes extend each other in a circle: " + " -> ".join((*chain, cls, parent)))
        inherited = _resolve(f, parent, sections, own, default, (*chain, cls))
    elif section.get("skip_default"):
        inherited = []  # equipment: the PC defaults (the OS's end of support) do not apply
    else:
        inherited = list(default)
    rules = list(inherited)
    index = {r.id: i for i, (r, _, _) in enumerate(rules)}
    for rule, line, field in own.get(cls, []):
        if rule.id in index:
            old = rules[index[rule.id]][0]
            if old.kind != rule.kind:
                f.fail(line, f"{field}.kind", f"rule {rule.id!r} replaces an inherited {old.kind} rule "
                                              f"with a {rule.kind} rule; use a new id")
            rules[index[rule.id]] = (rule, line, field)
        else:
            index[rule.id] = len(rules)
            rules.append((rule, line, field))
    return rules


def _check_consistency(f: DataFile, resolved: Mapping[str, list[tuple[Rule, int, str]]]) -> None:
    """Catch rules that contradict each other: one id meaning two checks, or free space beyond the disk."""
    kinds: dict[str, tuple[str, str]] = {}
    defined = {(line, field): rule for rules in resolved.values() for rule, line, field in rules}
    for (line, field), rule in sorted(defined.items()):
        first = kinds.setdefault(rule.id, (rule.kind, field))
        if first[0] != rule.kind:
            f.fail(line, f"{field}.kind", f"rule id {rule.id!r} is a {first[0]} rule in {first[1]}; "
                                          "one id must mean one check")
    for cls in DEVICE_CLASSES:
        disks = [r.params["min"] for r, _, _ in resolved[cls] if r.kind == "min_system_disk"]
        for rule, line, field in resolved[cls]:
            if rule.kind == "min_system_disk_free" and disks and rule.params["min"] >= min(disks):
                smallest = min(disks)
                f.fail(line, f"{field}.min", f"{format_size(rule.params['min'])} free cannot be met by a system "
                                             f"disk of the required {format_size(smallest)} (class {cls})")


def load_baseline(path: Optional[Path] = None) -> Baseline:
    """Load a baseline file, or the shipped Hanoi baseline when ``path`` is None."""
    data, source = read_bytes(path, DEFAULT_BASELINE, BaselineError)
    return parse_baseline(decode(data, source, BaselineError), source, hashlib.sha256(data).hexdigest())
