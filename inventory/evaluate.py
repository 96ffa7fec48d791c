"""Judging one report against a baseline: a verdict, and one actionable line per rule.

Evaluation is pure (report, baseline, date, lifecycle table in; verdict out)
so the collector, the simulator and tests agree on every verdict, and a
stored verdict can be recomputed. It never raises on a schema-valid report:
a fact that is missing or malformed makes its rule "unknown", because a
guessed pass would hide a machine that needs work and a guessed fail would
send an officer to fix a machine that is fine.

Status, from the results alone (see ``status_of``):

- ``not_ready``: some hard rule fails;
- ``unknown``: no hard rule fails, but some hard rule could not be judged;
- ``ready_with_conditions``: every hard rule passes (or does not apply), a soft one fails;
- ``ready``: otherwise (a soft rule that cannot be judged is listed, not counted).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, Callable, Iterable, Mapping, NamedTuple, Optional

from .baseline import Baseline, Rule, format_size
from .cpu import win11_cpu_support
from .lifecycle import Lifecycle, load_lifecycle
from .network_eol import EquipmentEol, shipped_equipment_eol

OUTCOMES = ("pass", "fail", "unknown", "not_applicable")
STATUSES = ("ready", "ready_with_conditions", "not_ready", "unknown")
_TPM_VERSION = re.compile(r"^([0-9]+)\.([0-9]+)$")
_FAMILY_VI = {"windows": "Windows", "linux": "Linux", "macos": "macOS", "other": "hệ điều hành khác"}
_FAMILY_EN = {"windows": "Windows machines", "linux": "Linux machines", "macos": "macOS machines",
              "other": "other operating systems"}


@dataclass(frozen=True)
class RuleResult:
    rule_id: str
    severity: str
    outcome: str
    measured: Optional[str]
    required: str
    message_vi: str
    message_en: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "RuleResult":
        return cls(data["rule_id"], data["severity"], data["outcome"], data.get("measured"), data["required"],
                   data["message_vi"], data["message_en"])


@dataclass(frozen=True)
class Verdict:
    status: str
    results: tuple[RuleResult, ...]
    device_class: str
    baseline_name: str
    baseline_fingerprint: str
    as_of: date

    @property
    def failures(self) -> tuple[RuleResult, ...]:
        """What needs attention: failed rules and rules that could not be judged, in baseline order."""
        return tuple(r for r in self.results if r.outcome in ("fail", "unknown"))

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "device_class": self.device_class, "baseline_name": self.baseline_name,
                "baseline_fingerprint": self.baseline_fingerprint, "as_of": self.as_of.isoformat(),
                "results": [r.to_dict() for r in self.results]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Verdict":
        return cls(data["status"], tuple(RuleResult.from_dict(r) for r in data["results"]), data["device_class"],
                   data["baseline_name"], data["baseline_fingerprint"], date.fromisoformat(data["as_of"]))


def status_of(results: Iterable[RuleResult]) -> str:
    """The verdict status implied by rule results; order does not matter."""
    seen = {(r.severity, r.outcome) for r in results}
    if ("hard", "fail") in seen:
        return "not_ready"
    if ("hard", "unknown") in seen:
        return "unknown"
    if ("soft", "fail") in seen:
        return "ready_with_conditions"
    return "ready"


def evaluate(report: Mapping[str, Any], baseline: Baseline, as_of: date,
             lifecycle: Optional[Lifecycle] = None, equipment_eol: Optional[EquipmentEol] = None) -> Verdict:
    """Judge ``report`` by the rules of its device class on ``as_of``; the shipped lifecycle tables by default."""
    facts = _Facts(report, as_of, lifecycle or _default_lifecycle(), equipment_eol or shipped_equipment_eol())
    device_class = _text(_at(report, "device", "class")) or "other"
    results = tuple(_judge(rule, facts) for rule in baseline.rules_for(device_class))
    return Verdict(status_of(results), results, device_class, baseline.name, baseline.fingerprint, as_of)


@lru_cache(maxsize=1)
def _default_lifecycle() -> Lifecycle:
    return load_lifecycle()


# --------------------------------------------------------------------------- facts

def _at(doc: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(doc, Mapping):
            return None
        doc = doc.get(key)
    return doc


def _int(value: Any) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any) -> Optional[str]:
    return value.strip() if isinstance(value, str) and value.strip() else None


class _Facts:
    """Typed, tolerant reads of the report: anything missing or malformed is None."""

    def __init__(self, report: Mapping[str, Any], as_of: date, lifecycle: Lifecycle,
                 equipment_eol: EquipmentEol):
        self.report, self.as_of, self.lifecycle, self.equipment_eol = report, as_of, lifecycle, equipment_eol
        os = _at(report, "os")
        self.os: Mapping[str, Any] = os if isinstance(os, Mapping) else {}
        self.os_family = _text(self.os.get("family")) or "other"
        os_id = _text(self.os.get("id"))
        self.os_known = not (self.os_family == "other" and (os_id is None or os_id == "unknown"))
        self.os_id = os_id

    def get(self, *path: str) -> Any:
        return _at(self.report, *path)

    def system_disk_physical(self) -> Mapping[str, Any]:
        disks = self.get("hardware", "disks")
        for disk in disks if isinstance(disks, list) else ():
            if isinstance(disk, Mapping) and disk.get("system") is True:
                return disk
        return {}

    def system_disk_size(self) -> Optional[int]:
        """The system volume's size; the disk holding it when the volume's size is unknown."""
        size = _int(self.get("hardware", "system_disk", "size_bytes"))
        return size if size is not None else _int(self.system_disk_physical().get("size_bytes"))

    def system_disk_media(self) -> str:
        media = self.get("hardware", "system_disk", "media")
        if media in ("ssd", "hdd"):
            return media
        media = self.system_disk_physical().get("media")
        return media if media in ("ssd", "hdd") else "unknown"


class _Judgement(NamedTuple):
    outcome: str
    measured: Optional[str]
    message_vi: str
    message_en: str


_OS_UNKNOWN = _Judgement("unknown", None, "Chưa xác định được hệ điều hành nên chưa đánh giá được quy tắc này",
                         "Operating system not reported, so this rule cannot be judged")


def _judge(rule: Rule, facts: _Facts) -> RuleResult:
    required = _REQUIRED[rule.kind](rule, facts.as_of)
    family = facts.os_family
    if rule.os_family is not None and not facts.os_known:
        j = _OS_UNKNOWN
    elif not rule.applies_to_family(family):
        j = _Judgement("not_applicable", None, f"Không áp dụng cho máy chạy {_FAMILY_VI.get(family, family)}",
                       f"Does not apply to {_FAMILY_EN.get(family, family)}")
    else:
        j = _JUDGES[rule.kind](rule, facts)
    return RuleResult(rule.id, rule.severity, j.outcome, j.measured, required, j.message_vi, j.message_en)


# --------------------------------------------------------------------------- formatting

def _vi_size(n: int) -> str:
    return format_size(n).replace(".", ",")


def _vi_date(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _years_before(day: date, years: float) -> date:
    whole = int(years)
    try:
        shifted = day.replace(year=day.year - whole)
    except ValueError:  # 29 February in a year without one
        shifted = day.replace(year=day.year - whole, day=28)
    return shifted - timedelta(days=round((years - whole) * 365.25))


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


# --------------------------------------------------------------------------- rule kinds

_SIZE_TEXT = {
    "min_memory": (
        ("hardware", "memory_bytes"),
        "RAM {m}, đạt mức tối thiểu {r}", "Memory {m} meets the minimum of {r}",
        "RAM {m}, yêu cầu tối thiểu {r} — cần nâng cấp bộ nhớ", "Memory {m}, minimum {r} — add memory",
        "Chưa đọc được dung lượng RAM — kiểm tra tác tử thu thập trên máy",
        "Memory size not reported — check the inventory agent on this machine"),
    "min_system_disk": (
        None,
        "Ổ hệ thống {m}, đạt mức tối thiểu {r}", "System disk {m} meets the minimum of {r}",
        "Ổ hệ thống {m}, yêu cầu tối thiểu {r} — cần thay ổ đĩa dung lượng lớn hơn",
        "System disk {m}, minimum {r} — replace it with a larger disk",
        "Chưa đọc được dung lượng ổ hệ thống — kiểm tra tác tử thu thập trên máy",
        "System disk size not reported — check the inventory agent on this machine"),
    "min_system_disk_free": (
        ("hardware", "system_disk", "free_bytes"),
        "Ổ hệ thống còn trống {m}, đạt mức tối thiểu {r}", "System disk has {m} free, at least {r} required",
        "Ổ hệ thống chỉ còn trống {m}, yêu cầu tối thiểu {r} — cần dọn dẹp hoặc mở rộng ổ đĩa",
        "System disk has only {m} free, minimum {r} — clean up or enlarge the disk",
        "Chưa đọc được dung lượng trống của ổ hệ thống — kiểm tra tác tử thu thập trên máy",
        "Free space on the system disk not reported — check the inventory agent on this machine"),
}


def _size(rule: Rule, facts: _Facts) -> _Judgement:
    path, pass_vi, pass_en, fail_vi, fail_en, unknown_vi, unknown_en = _SIZE_TEXT[rule.kind]
    value = facts.system_disk_size() if path is None else _int(facts.get(*path))
    if value is None:
        return _Judgement("unknown", None, unknown_vi, unknown_en)
    need = rule.params["min"]
    tolerance = rule.params.get("tolerance_percent", 0.0)
    if value >= need * (1 - tolerance / 100):
        vi = pass_vi.format(m=_vi_size(value), r=_vi_size(need))
        en = pass_en.format(m=format_size(value), r=format_size(need))
        if value < need:
            vi += f" (trong dung sai {_number(tolerance).replace('.', ',')}%)"
            en += f" (within the {_number(tolerance)}% tolerance)"
        return _Judgement("pass", format_size(value), vi, en)
    return _Judgement("fail", format_size(value), fail_vi.format(m=_vi_size(value), r=_vi_size(need)),
                      fail_en.format(m=format_size(value), r=format_size(need)))


def _ssd(rule: Rule, facts: _Facts) -> _Judgement:
    media = facts.system_disk_media()
    if media == "ssd":
        return _Judgement("pass", "ssd", "Ổ hệ thống là SSD", "System disk is an SSD")
    if media == "hdd":
        return _Judgement("fail", "hdd", "Ổ hệ thống là ổ cứng cơ (HDD) — nên thay bằng SSD",
                          "System disk is a hard disk drive — replace it with an SSD")
    return _Judgement("unknown", None, "Chưa xác định được ổ hệ thống là SSD hay HDD — kiểm tra thủ công",
                      "Whether the system disk is an SSD is not reported — check by hand")


def _cores(rule: Rule, facts: _Facts) -> _Judgement:
    cores, need = _int(facts.get("hardware", "cpu", "logical_cores")), rule.params["min"]
    if cores is None:
        return _Judgement("unknown", None, "Chưa đọc được số nhân CPU — kiểm tra tác tử thu thập trên máy",
                          "CPU core count not reported — check the inventory agent on this machine")
    if cores >= need:
        return _Judgement("pass", str(cores), f"CPU có {cores} nhân logic, đạt mức tối thiểu {need}",
                          f"CPU has {cores} logical cores, at least {need} required")
    return _Judgement("fail", str(cores), f"CPU chỉ có {cores} nhân logic, yêu cầu tối thiểu {need} — "
                                          "cần thay CPU hoặc thay máy",
                      f"CPU has only {cores} logical cores, minimum {need} — replace the CPU or the machine")


def _os_label(facts: _Facts) -> tuple[str, str]:
    name = _text(facts.os.get("name"))
    if name is None or name.casefold() == "unknown":
        return "Hệ điều hành", "The operating system"
    release = _text(facts.os.get("release"))
    if release and release.casefold() not in name.casefold():
        name = f"{name} {release}"
    return name, name


def _os_supported(rule: Rule, facts: _Facts) -> _Judgement:
    label_vi, label_en = _os_label(facts)
    window = facts.lifecycle.support_window(facts.os)
    if window is None:
        return _Judgement("unknown", None,
                          f"{label_vi}: không có trong bảng thời hạn hỗ trợ — kiểm tra thủ công phiên bản "
                          "hệ điều hành",
                          f"{label_en}: not in the end-of-support table — check the OS version by hand")
    first, last = window
    as_of, min_days = facts.as_of, rule.params.get("min_days_left", 0)
    measured = first.isoformat() if first == last else f"{first.isoformat()} … {last.isoformat()}"
    if (first - as_of).days >= min_days:
        return _Judgement("pass", measured, f"{label_vi} còn được hỗ trợ đến {_vi_date(first)}",
                          f"{label_en} is supported until {first.isoformat()}")
    if (last - as_of).days >= min_days:
        return _Judgement("unknown", measured,
                          f"Thời hạn hỗ trợ của {label_vi} tùy phiên bản và ấn bản (từ {_vi_date(first)} đến "
                          f"{_vi_date(last)}) — cần báo cáo đủ phiên bản (release) và ấn bản (edition)",
                          f"End of support of {label_en} depends on its release and edition ({first.isoformat()} "
                          f"to {last.isoformat()}) — the report must name both")
    if last < as_of:
        when_vi = _vi_date(last) if first == last else f"chậm nhất {_vi_date(last)}"
        when_en = last.isoformat() if first == last else f"{last.isoformat()} at the latest"
        return _Judgement("fail", measured, f"{label_vi} đã hết hỗ trợ ngày {when_vi} — cần nâng cấp hệ điều hành",
                          f"{label_en} reached end of support on {when_en} — upgrade the operating system")
    days = (last - as_of).days
    return _Judgement("fail", measured,
                      f"{label_vi} chỉ còn được hỗ trợ {days} ngày (đến {_vi_date(last)}), yêu cầu còn ít nhất "
                      f"{min_days} ngày — lên kế hoạch nâng cấp hệ điều hành",
                      f"{label_en} has only {days} days of support left (until {last.isoformat()}), at least "
                      f"{min_days} required — plan the OS upgrade")


def _tpm(rule: Rule, facts: _Facts) -> _Judgement:
    need = rule.params["min"]
    present = facts.get("firmware", "tpm", "present")
    spec = _text(facts.get("firmware", "tpm", "spec_version"))
    match = _TPM_VERSION.match(spec) if spec else None
    if match and present != "no":
        have = (int(match.group(1)), int(match.group(2)))
        if have >= tuple(int(p) for p in need.split(".")):
            return _Judgement("pass", spec, f"TPM {spec}, đạt yêu cầu TPM {need}", f"TPM {spec} meets TPM {need}")
        return _Judgement("fail", spec, f"TPM phiên bản {spec}, yêu cầu TPM {need} — nâng cấp firmware TPM "
                                        "hoặc thay máy",
                          f"TPM version {spec}, TPM {need} required — update the TPM firmware or replace the machine")
    if present == "no":
        return _Judgement("fail", "none", f"Không tìm thấy TPM, yêu cầu TPM {need} — bật TPM (fTPM/PTT) trong "
                                          "thiết lập UEFI/BIOS hoặc thay máy",
                          f"No TPM found, TPM {need} required — enable the TPM (fTPM/PTT) in the firmware "
                          "settings or replace the machine")
    return _Judgement("unknown", None, "Chưa xác định được TPM và phiên bản TPM — kiểm tra bằng tpm.msc hoặc "
                                       "chạy tác tử với quyền quản trị",
                      "TPM presence or version not reported — check with tpm.msc or run the agent with "
                      "administrator rights")


def _uefi(rule: Rule, facts: _Facts) -> _Judgement:
    mode = facts.get("firmware", "boot_mode")
    if mode == "uefi":
        return _Judgement("pass", "uefi", "Máy khởi động ở chế độ UEFI", "Machine boots in UEFI mode")
    if mode == "legacy":
        return _Judgement("fail", "legacy", "Máy khởi động ở chế độ Legacy BIOS — chuyển sang UEFI (chuyển ổ "
                                            "đĩa sang GPT, ví dụ bằng MBR2GPT)",
                          "Machine boots in legacy BIOS mode — switch to UEFI (convert the disk to GPT, e.g. "
                          "with MBR2GPT)")
    return _Judgement("unknown", None, "Chưa xác định được chế độ khởi động UEFI hay Legacy — kiểm tra trong "
                                       "msinfo32 hoặc thiết lập firmware",
                      "Boot mode not reported — check msinfo32 or the firmware settings")


def _secure_boot(rule: Rule, facts: _Facts) -> _Judgement:
    state = facts.get("firmware", "secure_boot")
    if state == "enabled":
        return _Judgement("pass", "enabled", "Secure Boot đang bật", "Secure Boot is on")
    if state == "disabled":
        return _Judgement("fail", "disabled", "Secure Boot đang tắt — bật Secure Boot trong thiết lập UEFI",
                          "Secure Boot is off — turn it on in the UEFI settings")
    if state == "unsupported" or facts.get("firmware", "boot_mode") == "legacy":
        measured = "unsupported" if state == "unsupported" else "legacy boot"
        return _Judgement("fail", measured, "Máy không dùng được Secure Boot (khởi động Legacy hoặc firmware "
                                                 "không hỗ trợ) — chuyển sang UEFI rồi bật Secure Boot",
                          "Secure Boot unavailable (legacy boot or unsupported firmware) — switch to UEFI, then "
                          "turn Secure Boot on")
    return _Judgement("unknown", None, "Chưa xác định được trạng thái Secure Boot — kiểm tra trong msinfo32",
                      "Secure Boot state not reported — check msinfo32")


def _win11_cpu(rule: Rule, facts: _Facts) -> _Judgement:
    if not facts.os_known:
        return _OS_UNKNOWN
    if facts.os_family != "windows" or facts.os_id == "windows-server":
        return _Judgement("not_applicable", None, "Không áp dụng: chỉ xét với máy trạm Windows",
                          "Does not apply: only Windows client machines are checked")
    vendor = _text(facts.get("hardware", "cpu", "vendor"))
    family, model = _int(facts.get("hardware", "cpu", "family")), _int(facts.get("hardware", "cpu", "model_number"))
    stepping = _int(facts.get("hardware", "cpu", "stepping"))
    support = win11_cpu_support(vendor, family, model, stepping)
    measured = None
    if vendor and family is not None and model is not None:
        measured = f"{vendor} family {family} model {model}" + (f" stepping {stepping}" if stepping is not None else "")
    if support.supported:
        return _Judgement("pass", measured, f"CPU được Windows 11 hỗ trợ ({support.reason_vi})",
                          f"CPU supported by Windows 11 ({support.reason})")
    if support.supported is False:
        return _Judgement("fail", measured, f"CPU không được Windows 11 hỗ trợ ({support.reason_vi}) — cần thay "
                                            "máy để chạy Windows 11",
                          f"CPU not supported by Windows 11 ({support.reason}) — the machine must be replaced "
                          "to run Windows 11")
    return _Judgement("unknown", measured, f"Chưa xác định được CPU có được Windows 11 hỗ trợ hay không "
                                           f"({support.reason_vi}) — đối chiếu danh sách CPU của Microsoft",
                      f"Cannot tell whether Windows 11 supports this CPU ({support.reason}) — check Microsoft's "
                      "processor list")


def _device_age(rule: Rule, facts: _Facts) -> _Judgement:
    """BIOS release date as the age: the one date every probe reads, though a BIOS update makes a PC look younger."""
    limit = rule.params["max"]
    text = _text(facts.get("firmware", "bios", "date"))
    try:
        bios = date.fromisoformat(text) if text else None
    except ValueError:
        bios = None
    if bios is None:
        return _Judgement("unknown", None, "Chưa đọc được ngày BIOS để ước tính tuổi máy — kiểm tra tác tử thu "
                                           "thập trên máy",
                          "BIOS date not reported, so the machine's age is unknown — check the inventory agent")
    age = _number(max(0.0, (facts.as_of - bios).days / 365.25))
    limit_text = _number(limit)
    if bios >= _years_before(facts.as_of, limit):
        return _Judgement("pass", bios.isoformat(),
                          f"Máy khoảng {age.replace('.', ',')} năm tuổi (theo ngày BIOS {_vi_date(bios)}), trong "
                          f"giới hạn {limit_text.replace('.', ',')} năm",
                          f"Machine is about {age} years old (BIOS date {bios.isoformat()}), within the "
                          f"{limit_text}-year limit")
    return _Judgement("fail", bios.isoformat(),
                      f"Máy khoảng {age.replace('.', ',')} năm tuổi (theo ngày BIOS {_vi_date(bios)}), vượt giới "
                      f"hạn {limit_text.replace('.', ',')} năm — đưa vào kế hoạch thay thế",
                      f"Machine is about {age} years old (BIOS date {bios.isoformat()}), over the {limit_text}-year "
                      "limit — plan its replacement")


# --------------------------------------------------------------------------- network and power equipment

_NO_SNMP = _Judgement("unknown", None, "Báo cáo không có dữ liệu SNMP của thiết bị — kiểm tra hdc-agent probe-snmp",
                      "The report has no SNMP facts of the device — check hdc-agent probe-snmp")


def _equipment_supported(rule: Rule, facts: _Facts) -> _Judgement:
    """The earliest end of support among the model's and the firmware's entries in network-eol.yaml."""
    vendor, model = _text(facts.get("device", "manufacturer")), _text(facts.get("device", "model"))
    firmware = _text(facts.get("network_device", "firmware"))
    found = facts.equipment_eol.matches(vendor, model, firmware)
    label = " ".join(filter(None, (vendor, model))) or "Thiết bị"
    label_en = " ".join(filter(None, (vendor, model))) or "The device"
    if not found:
        return _Judgement("unknown", None,
                          f"{label}: chưa có trong bảng thời hạn hỗ trợ thiết bị mạng — kiểm tra trên trang của hãng",
                          f"{label_en}: not in the equipment end-of-support table — check the vendor's page")
    entry = found[0]
    measured = f"{entry.what}: {entry.end_of_support.isoformat()}"
    if entry.end_of_support >= facts.as_of:
        return _Judgement("pass", measured, f"{entry.what} còn được hãng hỗ trợ đến {_vi_date(entry.end_of_support)}",
                          f"{entry.what} is supported until {entry.end_of_support.isoformat()}")
    return _Judgement("fail", measured,
                      f"{entry.what} đã hết hỗ trợ của hãng ngày {_vi_date(entry.end_of_support)} (nguồn: "
                      f"{entry.source}) — đưa vào kế hoạch thay thế hoặc nâng cấp",
                      f"{entry.what} reached the end of vendor support on {entry.end_of_support.isoformat()} "
                      f"(source: {entry.source}) — plan its replacement or upgrade")


def _speed(mbps: int) -> str:
    return f"{_number(mbps / 1000)} Gbit/s" if mbps >= 1000 else f"{mbps} Mbit/s"


def _uplink(rule: Rule, facts: _Facts) -> _Judgement:
    if not isinstance(facts.get("network_device"), Mapping):
        return _NO_SNMP
    fastest, need = _int(facts.get("network_device", "ports", "fastest_up_mbps")), rule.params["min_mbps"]
    if fastest is None:
        return _Judgement("unknown", None, "Không đọc được tốc độ cổng đang hoạt động (IF-MIB) — kiểm tra quyền "
                                           "đọc SNMP của thiết bị",
                          "No speed of a port that is up was read (IF-MIB) — check the device's SNMP view")
    if fastest >= need:
        return _Judgement("pass", _speed(fastest), f"Cổng nhanh nhất đang hoạt động chạy {_speed(fastest)}, đạt "
                                                   f"mức tối thiểu {_speed(need)}",
                          f"Fastest port up runs at {_speed(fastest)}, at least {_speed(need)} required")
    return _Judgement("fail", _speed(fastest),
                      f"Đường uplink nhanh nhất chỉ {_speed(fastest)}, yêu cầu tối thiểu {_speed(need)} — nâng "
                      "cấp thiết bị hoặc đường kết nối",
                      f"The fastest link up runs at only {_speed(fastest)}, minimum {_speed(need)} — upgrade the "
                      "device or the link")


def _slow_ports(rule: Rule, facts: _Facts) -> _Judgement:
    ports = facts.get("network_device", "ports", "list")
    if not isinstance(ports, list):
        return _NO_SNMP
    slow_limit, most = rule.params.get("slow_mbps", 100), rule.params["max_percent"]
    speeds = [_int(p.get("speed_mbps")) for p in ports if isinstance(p, Mapping) and p.get("oper") == "up"
              and p.get("admin") == "up" and p.get("type") in (6, 62, 69, 117)]
    speeds = [s for s in speeds if s is not None]
    if not speeds:
        return _Judgement("unknown", None, "Không có cổng Ethernet nào đang hoạt động đọc được tốc độ",
                          "No Ethernet port that is up reported its speed")
    slow = sum(1 for s in speeds if s <= slow_limit)
    share = round(100 * slow / len(speeds))
    measured = f"{slow}/{len(speeds)} ({share}%)"
    if share <= most:
        return _Judgement("pass", measured, f"{slow}/{len(speeds)} cổng đang hoạt động chạy ≤ {slow_limit} Mbit/s, "
                                            f"trong giới hạn {most}%",
                          f"{slow} of {len(speeds)} ports up run at {slow_limit} Mbit/s or less, within {most}%")
    return _Judgement("fail", measured, f"{slow}/{len(speeds)} cổng đang hoạt động ({share}%) chỉ chạy ≤ "
                                        f"{slow_limit} Mbit/s, vượt giới hạn {most}% — thay switch hoặc kiểm tra cáp",
                      f"{slow} of {len(speeds)} ports up ({share}%) run at {slow_limit} Mbit/s or less, over "
                      f"{most}% — replace the switch or check the cabling")


def _ups_battery(rule: Rule, facts: _Facts) -> _Judgement:
    ups = facts.get("network_device", "ups")
    if not isinstance(ups, Mapping):
        return _Judgement("unknown", None, "UPS không trả lời thông tin ắc quy (UPS-MIB hoặc MIB của hãng)",
                          "The UPS answered no battery facts (UPS-MIB or the vendor's MIB)")
    status, replace = ups.get("battery_status"), ups.get("replace_battery")
    if replace == "yes" or status in ("depleted", "fault"):
        measured = "replace" if replace == "yes" else status
        return _Judgement("fail", measured, "Ắc quy UPS cần thay (UPS báo hỏng hoặc cạn) — thay ắc quy",
                          "The UPS battery needs replacing (the UPS reports it bad or depleted) — replace it")
    if status == "low":
        return _Judgement("fail", "low", "Ắc quy UPS đang yếu — kiểm tra nguồn điện vào và ắc quy",
                          "The UPS battery is low — check the mains input and the battery")
    if status == "normal" or replace == "no":
        return _Judgement("pass", status if status == "normal" else "no replacement needed",
                          "Ắc quy UPS bình thường", "The UPS battery is fine")
    return _Judgement("unknown", None, "UPS không báo trạng thái ắc quy — kiểm tra trên màn hình của UPS",
                      "The UPS does not report its battery state — check its display")


def _ups_runtime(rule: Rule, facts: _Facts) -> _Judgement:
    minutes, need = _int(facts.get("network_device", "ups", "runtime_minutes")), rule.params["min_minutes"]
    if minutes is None:
        return _Judgement("unknown", None, "UPS không báo thời gian lưu điện còn lại",
                          "The UPS does not report its remaining runtime")
    if minutes >= need:
        return _Judgement("pass", f"{minutes} min", f"UPS lưu điện được {minutes} phút, đạt mức tối thiểu {need} phút",
                          f"The UPS runs {minutes} minutes on battery, at least {need} required")
    return _Judgement("fail", f"{minutes} min", f"UPS chỉ lưu điện được {minutes} phút, yêu cầu tối thiểu {need} phút "
                                                "— thay ắc quy hoặc giảm tải",
                      f"The UPS runs only {minutes} minutes on battery, minimum {need} — replace the battery or "
                      "reduce the load")


def _printer_supplies(rule: Rule, facts: _Facts) -> _Judgement:
    supplies = facts.get("network_device", "printer", "supplies")
    if not isinstance(supplies, list) or not supplies:
        return _Judgement("unknown", None, "Máy in không báo mức vật tư (Printer-MIB)",
                          "The printer does not report its supplies (Printer-MIB)")
    empty = [str(s.get("name")) for s in supplies if isinstance(s, Mapping) and s.get("state") == "empty"]
    if empty:
        names = ", ".join(empty)
        return _Judgement("fail", f"empty: {names}"[:200], f"Vật tư đã hết: {names} — thay mới",
                          f"Supplies empty: {names} — replace them")
    return _Judgement("pass", f"{len(supplies)} supplies, none empty", "Không có vật tư nào đã hết",
                      "No supply is empty")


_JUDGES: Mapping[str, Callable[[Rule, _Facts], _Judgement]] = {
    "min_memory": _size,
    "min_system_disk": _size,
    "min_system_disk_free": _size,
    "system_disk_ssd": _ssd,
    "min_logical_cores": _cores,
    "os_supported": _os_supported,
    "tpm_min_version": _tpm,
    "uefi": _uefi,
    "secure_boot": _secure_boot,
    "win11_cpu": _win11_cpu,
    "max_device_age_years": _device_age,
    "equipment_supported": _equipment_supported,
    "min_uplink_speed": _uplink,
    "max_slow_ports": _slow_ports,
    "ups_battery": _ups_battery,
    "min_ups_runtime": _ups_runtime,
    "printer_supplies": _printer_supplies,
}

_REQUIRED: Mapping[str, Callable[[Rule, date], str]] = {
    "min_memory": lambda rule, as_of: f"≥ {format_size(rule.params['min'])}",
    "min_system_disk": lambda rule, as_of: f"≥ {format_size(rule.params['min'])}",
    "min_system_disk_free": lambda rule, as_of: f"≥ {format_size(rule.params['min'])}",
    "system_disk_ssd": lambda rule, as_of: "ssd",
    "min_logical_cores": lambda rule, as_of: f"≥ {rule.params['min']}",
    "os_supported": lambda rule, as_of: f"≥ {as_of + timedelta(days=rule.params.get('min_days_left', 0))}",
    "tpm_min_version": lambda rule, as_of: f"≥ {rule.params['min']}",
    "uefi": lambda rule, as_of: "uefi",
    "secure_boot": lambda rule, as_of: "enabled",
    "win11_cpu": lambda rule, as_of: "Windows 11 CPU",
    "max_device_age_years": lambda rule, as_of: f"≥ {_years_before(as_of, rule.params['max']).isoformat()}",
    "equipment_supported": lambda rule, as_of: f"supported on {as_of.isoformat()}",
    "min_uplink_speed": lambda rule, as_of: f"≥ {_speed(rule.params['min_mbps'])}",
    "max_slow_ports":
        lambda rule, as_of: f"≤ {rule.params['max_percent']}% at ≤ {rule.params.get('slow_mbps', 100)} Mbit/s",
    "ups_battery": lambda rule, as_of: "normal, no replacement needed",
    "min_ups_runtime": lambda rule, as_of: f"≥ {rule.params['min_minutes']} min",
    "printer_supplies": lambda rule, as_of: "no supply empty",
}
