"""Windows 11 eligibility of one report, by Microsoft's minimum requirements, beside the city's baseline.

The city's baseline asks more than Windows 11 does (8 GiB, 128 GiB) and
treats UEFI and Secure Boot as soft rules, so it cannot say whether a
Windows 10 PC can be upgraded in place or must be replaced: the largest cost
difference of the upgrade plan. This module answers that question alone.

The thresholds are those of Microsoft's published minimum requirements as its
readiness script HardwareReadiness.ps1 measures them: 4 GiB of installed
memory, a 64 GiB system volume, 2 cores at 1 GHz or more, a 64-bit processor
on the supported list (the CPUID gate of :mod:`inventory.cpu`), TPM 2.0,
UEFI firmware with Secure Boot.

Each check ends ``pass``, ``fail``, ``firmware_setting`` (the hardware has
it, a setting in the firmware setup turns it on: a technician's visit, no
purchase) or ``unknown`` (the report does not carry the fact; never guessed).
Schema v2 reports carry what the agents read today; two facts are read from
elsewhere or not at all:

- a TPM the firmware has switched off: Windows still lists it, and the
  agent says so in the report's notes (``tpm: present but disabled``), the
  one place schema v2 has for it;
- whether firmware booting in legacy mode can boot UEFI: no agent can read
  that from a legacy boot, so it stays unknown unless a caller knows it
  (``Win11Facts.uefi_capable``).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping, Optional

from .baseline import format_size
from .cpu import CpuSupport, win11_cpu_support

GiB = 1024 ** 3
MIN_MEMORY = 4 * GiB
MIN_STORAGE = 64 * GiB
MIN_CORES = 2
MIN_MHZ = 1000
OUTCOMES = ("pass", "fail", "firmware_setting", "unknown")
CHECK_IDS = ("processor", "architecture", "cores", "clock", "memory", "storage", "tpm", "uefi", "secure_boot")
ELIGIBILITIES = ("eligible", "after_firmware_settings", "not_eligible", "unknown")
TPM_DISABLED_NOTE = "tpm: present but disabled"
_64_BIT = {"x86_64", "amd64", "aarch64", "arm64", "x64", "64-bit", "ia64"}
_32_BIT = {"x86", "i386", "i486", "i586", "i686", "32-bit", "armv7l", "arm"}
_TPM_VERSION = re.compile(r"^([0-9]+)\.([0-9]+)$")


@dataclass(frozen=True)
class Win11Facts:
    """The facts the requirements are judged on; None where the report does not say."""

    cpu_vendor: Optional[str] = None
    cpu_family: Optional[int] = None
    cpu_model: Optional[int] = None
    cpu_stepping: Optional[int] = None
    physical_cores: Optional[int] = None
    logical_cores: Optional[int] = None
    max_mhz: Optional[float] = None
    architecture: Optional[str] = None
    memory_bytes: Optional[int] = None
    system_disk_bytes: Optional[int] = None
    tpm_present: str = "unknown"
    tpm_spec: Optional[str] = None
    tpm_enabled: Optional[bool] = None
    boot_mode: str = "unknown"
    uefi_capable: Optional[bool] = None
    secure_boot: str = "unknown"


@dataclass(frozen=True)
class Win11Check:
    id: str
    outcome: str
    measured: Optional[str]
    required: str
    reason_vi: str
    reason_en: str


@dataclass(frozen=True)
class Win11Result:
    eligible: Optional[bool]
    after_firmware_settings: bool
    checks: tuple[Win11Check, ...]

    @property
    def eligibility(self) -> str:
        """One of ELIGIBILITIES, for counting devices per unit and city."""
        if self.eligible is None:
            return "unknown"
        if not self.eligible:
            return "not_eligible"
        return "after_firmware_settings" if self.after_firmware_settings else "eligible"

    def outcome(self, check_id: str) -> str:
        return next(c.outcome for c in self.checks if c.id == check_id)

    def to_dict(self) -> dict[str, Any]:
        """The API shape: ``{"eligible", "after_firmware_settings", "checks": [...]}``."""
        return {"eligible": self.eligible, "after_firmware_settings": self.after_firmware_settings,
                "checks": [asdict(c) for c in self.checks]}


def win11_eligibility(report: Mapping[str, Any]) -> Win11Result:
    """Judge a schema-valid report; a missing or malformed fact makes its check unknown, never an error."""
    return judge_win11(win11_facts(report))


def win11_tally(judged: Iterable[tuple[Mapping[str, Any], Win11Result]]) -> dict[str, dict[str, int]]:
    """Devices per eligibility, and how many of them run Windows 10: the count that decides the plan's cost."""
    tally = {e: {"devices": 0, "windows_10": 0} for e in ELIGIBILITIES}
    for report, result in judged:
        row = tally[result.eligibility]
        row["devices"] += 1
        os = _map(report.get("os"))
        row["windows_10"] += int(os.get("family") == "windows" and os.get("id") == "windows"
                                 and os.get("version") == "10")
    return tally


def win11_facts(report: Mapping[str, Any]) -> Win11Facts:
    """Read the facts from a report (schema v1 or v2), tolerating anything missing or malformed."""
    cpu = _map(_at(report, "hardware", "cpu"))
    tpm = _map(_at(report, "firmware", "tpm"))
    raw_notes = report.get("notes")
    notes = raw_notes if isinstance(raw_notes, list) else []
    disabled = any(isinstance(n, str) and n.startswith(TPM_DISABLED_NOTE) for n in notes)
    boot_mode = _at(report, "firmware", "boot_mode")
    mhz = cpu.get("max_mhz")
    present = tpm.get("present", "unknown")
    return Win11Facts(
        cpu_vendor=_text(cpu.get("vendor")), cpu_family=_int(cpu.get("family")),
        cpu_model=_int(cpu.get("model_number")), cpu_stepping=_int(cpu.get("stepping")),
        physical_cores=_int(cpu.get("physical_cores")), logical_cores=_int(cpu.get("logical_cores")),
        max_mhz=float(mhz) if isinstance(mhz, (int, float)) and not isinstance(mhz, bool) else None,
        architecture=_text(_at(report, "os", "architecture")),
        memory_bytes=_int(_at(report, "hardware", "memory_bytes")),
        system_disk_bytes=_system_disk_bytes(report),
        tpm_present=present if present in ("yes", "no") else "unknown",
        tpm_spec=_text(tpm.get("spec_version")), tpm_enabled=False if disabled else None,
        boot_mode=boot_mode if boot_mode in ("uefi", "legacy") else "unknown",
        uefi_capable=True if boot_mode == "uefi" else None,
        secure_boot=_at(report, "firmware", "secure_boot") or "unknown")


def judge_win11(facts: Win11Facts) -> Win11Result:
    """Every requirement judged; eligible when none fails or is unknown, after settings when one needs them."""
    support = win11_cpu_support(facts.cpu_vendor, facts.cpu_family, facts.cpu_model, facts.cpu_stepping)
    checks = (_processor(facts, support), _architecture(facts, support.supported), _cores(facts), _clock(facts),
              _memory(facts), _storage(facts), _tpm(facts), _uefi(facts), _secure_boot(facts))
    outcomes = {c.outcome for c in checks}
    if "fail" in outcomes:
        return Win11Result(False, False, checks)
    if "unknown" in outcomes:
        return Win11Result(None, False, checks)
    return Win11Result(True, "firmware_setting" in outcomes, checks)


# --------------------------------------------------------------------------- reading

def _at(doc: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(doc, Mapping):
            return None
        doc = doc.get(key)
    return doc


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _int(value: Any) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any) -> Optional[str]:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _system_disk_bytes(report: Mapping[str, Any]) -> Optional[int]:
    """The system volume, as Microsoft's script measures it; the disk holding it when the volume is unknown."""
    size = _int(_at(report, "hardware", "system_disk", "size_bytes"))
    if size is not None:
        return size
    disks = _at(report, "hardware", "disks")
    for disk in disks if isinstance(disks, list) else ():
        if isinstance(disk, Mapping) and disk.get("system") is True:
            return _int(disk.get("size_bytes"))
    return None


# --------------------------------------------------------------------------- checks

def _unknown(check_id: str, required: str, vi: str, en: str, measured: Optional[str] = None) -> Win11Check:
    return Win11Check(check_id, "unknown", measured, required, vi, en)


def _processor(f: Win11Facts, support: CpuSupport) -> Win11Check:
    measured = None
    if f.cpu_vendor and f.cpu_family is not None and f.cpu_model is not None:
        measured = f"{f.cpu_vendor} family {f.cpu_family} model {f.cpu_model}" + (
            f" stepping {f.cpu_stepping}" if f.cpu_stepping is not None else "")
    outcome = {True: "pass", False: "fail", None: "unknown"}[support.supported]
    return Win11Check("processor", outcome, measured, "on Microsoft's supported processor list",
                      f"CPU: {support.reason_vi}", f"Processor: {support.reason}")


def _architecture(f: Win11Facts, cpu_supported: Optional[bool]) -> Win11Check:
    """The OS's width shows a 64-bit processor; a 32-bit OS hides it, unless the CPU is on the (64-bit) list."""
    arch, required = (f.architecture or "").casefold(), "64-bit"
    if arch in _64_BIT:
        return Win11Check("architecture", "pass", f.architecture, required,
                          "Hệ điều hành 64-bit, nên bộ xử lý là 64-bit", "64-bit OS, so a 64-bit processor")
    if cpu_supported:
        note_vi = " (đang chạy Windows 32-bit: cần cài mới Windows 11 64-bit)" if arch in _32_BIT else ""
        note_en = " (runs 32-bit Windows: Windows 11 needs a clean 64-bit install)" if arch in _32_BIT else ""
        return Win11Check("architecture", "pass", f.architecture, required,
                          "CPU trong danh sách hỗ trợ đều là 64-bit" + note_vi,
                          "Every processor on the supported list is 64-bit" + note_en)
    if arch in _32_BIT:
        return _unknown("architecture", required, "Hệ điều hành 32-bit: chưa biết bộ xử lý có hỗ trợ 64-bit không",
                        "32-bit OS: whether the processor is 64-bit is not reported", f.architecture)
    return _unknown("architecture", required, "Chưa đọc được kiến trúc hệ điều hành",
                    "OS architecture not reported", f.architecture)


def _cores(f: Win11Facts) -> Win11Check:
    """Cores, not threads; logical cores bound them from above, so fewer than 2 of those also fails."""
    required = f">= {MIN_CORES}"
    cores = f.physical_cores
    if cores is None and f.logical_cores is not None and f.logical_cores < MIN_CORES:
        cores = f.logical_cores
    if cores is None:
        return _unknown("cores", required, "Chưa đọc được số nhân CPU", "Number of processor cores not reported")
    if cores >= MIN_CORES:
        return Win11Check("cores", "pass", str(cores), required, f"CPU có {cores} nhân", f"{cores} cores")
    return Win11Check("cores", "fail", str(cores), required, f"CPU chỉ có {cores} nhân, cần ít nhất {MIN_CORES}",
                      f"Only {cores} core(s), at least {MIN_CORES} required")


def _clock(f: Win11Facts) -> Win11Check:
    required = f">= {MIN_MHZ} MHz"
    if f.max_mhz is None:
        return _unknown("clock", required, "Chưa đọc được tốc độ CPU", "Processor speed not reported")
    measured = f"{f.max_mhz:g} MHz"
    if f.max_mhz >= MIN_MHZ:
        return Win11Check("clock", "pass", measured, required, f"CPU {measured}", f"Processor at {measured}")
    return Win11Check("clock", "fail", measured, required, f"CPU {measured}, cần ít nhất 1 GHz",
                      f"Processor at {measured}, at least 1 GHz required")


def _size_check(check_id: str, value: Optional[int], need: int, what_vi: str, what_en: str) -> Win11Check:
    required = f">= {format_size(need)}"
    if value is None:
        return _unknown(check_id, required, f"Chưa đọc được {what_vi}", f"{what_en} not reported")
    shown = format_size(value)
    if value >= need:
        return Win11Check(check_id, "pass", shown, required, f"{what_vi} {shown}", f"{what_en} {shown}")
    return Win11Check(check_id, "fail", shown, required, f"{what_vi} {shown}, cần ít nhất {format_size(need)}",
                      f"{what_en} {shown}, at least {format_size(need)} required")


def _memory(f: Win11Facts) -> Win11Check:
    return _size_check("memory", f.memory_bytes, MIN_MEMORY, "RAM", "Memory")


def _storage(f: Win11Facts) -> Win11Check:
    return _size_check("storage", f.system_disk_bytes, MIN_STORAGE, "Ổ hệ thống", "System volume")


def _tpm(f: Win11Facts) -> Win11Check:
    """No TPM seen is unknown: Windows lists none both when none is fitted and when the firmware hides it."""
    required = ">= 2.0"
    match = _TPM_VERSION.match(f.tpm_spec) if f.tpm_spec else None
    if f.tpm_present == "yes" and match:
        if (int(match.group(1)), int(match.group(2))) < (2, 0):
            return Win11Check("tpm", "fail", f.tpm_spec, required, f"TPM {f.tpm_spec}, cần TPM 2.0",
                              f"TPM {f.tpm_spec}, TPM 2.0 required")
        if f.tpm_enabled is False:
            return Win11Check("tpm", "firmware_setting", f"{f.tpm_spec} disabled", required,
                              "Có TPM 2.0 nhưng đang tắt — bật TPM trong thiết lập UEFI/BIOS",
                              "TPM 2.0 present but disabled — turn it on in the firmware setup")
        return Win11Check("tpm", "pass", f.tpm_spec, required, f"TPM {f.tpm_spec}", f"TPM {f.tpm_spec}")
    if f.tpm_present == "no":
        return _unknown("tpm", required, "Windows không thấy TPM: máy không có, hoặc TPM (fTPM/PTT) bị tắt trong "
                                         "thiết lập UEFI/BIOS — kiểm tra thiết lập",
                        "Windows sees no TPM: none fitted, or the firmware TPM (fTPM/PTT) is switched off — "
                        "check the firmware setup", "none seen")
    return _unknown("tpm", required, "Chưa xác định được TPM và phiên bản TPM",
                    "TPM presence or version not reported")


def _uefi(f: Win11Facts) -> Win11Check:
    required = "uefi"
    if f.boot_mode == "uefi":
        return Win11Check("uefi", "pass", "uefi", required, "Khởi động UEFI", "Boots in UEFI mode")
    if f.boot_mode == "legacy":
        if f.uefi_capable:
            return Win11Check("uefi", "firmware_setting", "legacy", required,
                              "Firmware hỗ trợ UEFI nhưng đang khởi động Legacy — chuyển ổ đĩa sang GPT (MBR2GPT) "
                              "và chọn UEFI trong thiết lập",
                              "UEFI-capable firmware booting in legacy mode — convert the disk with MBR2GPT "
                              "and select UEFI in the setup")
        if f.uefi_capable is False:
            return Win11Check("uefi", "fail", "legacy", required, "Firmware chỉ hỗ trợ Legacy BIOS",
                              "Firmware can only boot in legacy BIOS mode")
        return _unknown("uefi", required, "Khởi động Legacy: chưa biết firmware có hỗ trợ UEFI không — kiểm tra "
                                          "thiết lập firmware",
                        "Boots in legacy mode: whether the firmware can boot UEFI is not reported — check the "
                        "firmware setup", "legacy")
    return _unknown("uefi", required, "Chưa xác định được chế độ khởi động", "Boot mode not reported")


def _secure_boot(f: Win11Facts) -> Win11Check:
    """UEFI firmware certified for Windows 8 or later has Secure Boot, so UEFI capability implies it."""
    required = "capable"
    if f.secure_boot == "enabled":
        return Win11Check("secure_boot", "pass", "enabled", required, "Secure Boot đang bật", "Secure Boot is on")
    if f.secure_boot == "disabled":
        return Win11Check("secure_boot", "firmware_setting", "disabled", required,
                          "Firmware có Secure Boot nhưng đang tắt — bật trong thiết lập UEFI",
                          "Secure Boot supported but off — turn it on in the UEFI setup")
    if f.boot_mode == "legacy":
        if f.uefi_capable:
            return Win11Check("secure_boot", "firmware_setting", "legacy boot", required,
                              "Bật Secure Boot sau khi chuyển sang UEFI", "Turn Secure Boot on after switching to UEFI")
        if f.uefi_capable is False:
            return Win11Check("secure_boot", "fail", "legacy only", required,
                              "Firmware chỉ hỗ trợ Legacy BIOS, không có Secure Boot",
                              "Legacy-only firmware has no Secure Boot")
        return _unknown("secure_boot", required, "Khởi động Legacy: chưa biết firmware có Secure Boot không",
                        "Boots in legacy mode: whether the firmware has Secure Boot is not reported", "legacy boot")
    if f.secure_boot == "unsupported":
        return Win11Check("secure_boot", "fail", "unsupported", required, "Firmware không hỗ trợ Secure Boot",
                          "The firmware does not support Secure Boot")
    return _unknown("secure_boot", required, "Chưa xác định được trạng thái Secure Boot",
                    "Secure Boot state not reported")
