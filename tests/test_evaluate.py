"""Evaluation: every rule kind, every verdict, and properties that must hold for any valid report."""
from __future__ import annotations

import copy
import json
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory.baseline import DEVICE_CLASSES, load_baseline, parse_baseline
from inventory.evaluate import OUTCOMES, STATUSES, RuleResult, Verdict, evaluate, status_of
from inventory.lifecycle import load_lifecycle
from inventory.report import empty_report
from inventory.schema import validate_report
from inventory.text import unsafe_character

GiB = 1024 ** 3
AS_OF = date(2026, 11, 28)
BASELINE = load_baseline()
LIFECYCLE = load_lifecycle()


def ready_pc() -> dict:
    """A Windows 11 Pro 25H2 desktop that meets every workstation rule on AS_OF."""
    r = empty_report("00070", "test", "1.0", "agent")
    r["device"].update(id="pc-1", hostname="pc-1", **{"class": "workstation"})
    r["hardware"]["cpu"].update(model="Intel(R) Core(TM) i5-12400", vendor="GenuineIntel", family=6,
                                model_number=151, stepping=5, logical_cores=12, physical_cores=6)
    r["hardware"]["memory_bytes"] = 16 * GiB
    r["hardware"]["system_disk"].update(mount="C:", size_bytes=476 * GiB, free_bytes=300 * GiB, media="ssd")
    r["firmware"].update(boot_mode="uefi", secure_boot="enabled", tpm={"present": "yes", "spec_version": "2.0"},
                         bios={"vendor": "AMI", "version": "1.2", "date": "2023-03-01"})
    r["os"].update(family="windows", name="Windows 11 Pro", id="windows", version="11", release="25H2",
                   edition="Professional", build="26200.1", architecture="x86_64")
    assert validate_report(r) == []
    return r


def judge(report, baseline=BASELINE, as_of=AS_OF) -> Verdict:
    assert validate_report(report) == [], validate_report(report)
    return evaluate(report, baseline, as_of, LIFECYCLE)


def result(verdict: Verdict, rule_id: str) -> RuleResult:
    return next(r for r in verdict.results if r.rule_id == rule_id)


def test_a_good_pc_is_ready():
    verdict = judge(ready_pc())
    assert verdict.status == "ready"
    assert verdict.failures == ()
    assert [r.rule_id for r in verdict.results] == [r.id for r in BASELINE.rules_for("workstation")]
    assert all(r.outcome == "pass" for r in verdict.results)
    assert verdict.baseline_fingerprint == BASELINE.fingerprint and verdict.as_of == AS_OF


def test_the_actionable_vietnamese_line():
    r = ready_pc()
    r["hardware"]["memory_bytes"] = 4 * GiB
    memory = result(judge(r), "memory")
    assert memory.outcome == "fail"
    assert (memory.measured, memory.required) == ("4 GiB", "≥ 8 GiB")
    assert memory.message_vi == "RAM 4 GiB, yêu cầu tối thiểu 8 GiB — cần nâng cấp bộ nhớ"
    assert memory.message_en == "Memory 4 GiB, minimum 8 GiB — add memory"


# ---------------------------------------------------------------- each rule kind: pass, fail, unknown

def _set(path, value):
    def change(r):
        target = r
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


CASES = [
    ("memory", _set(("hardware", "memory_bytes"), int(7.5 * GiB)), "pass", "dung sai 10%"),
    ("memory", _set(("hardware", "memory_bytes"), 6 * GiB), "fail", "nâng cấp bộ nhớ"),
    ("memory", _set(("hardware", "memory_bytes"), None), "unknown", "RAM"),
    ("system_disk", _set(("hardware", "system_disk", "size_bytes"), int(118.5 * GiB)), "pass", "128 GiB"),
    ("system_disk", _set(("hardware", "system_disk", "size_bytes"), 111 * GiB), "fail", "dung lượng lớn hơn"),
    ("system_disk", _set(("hardware", "system_disk", "size_bytes"), None), "unknown", "ổ hệ thống"),
    ("system_disk_free", _set(("hardware", "system_disk", "free_bytes"), 5 * GiB), "fail", "dọn dẹp"),
    ("system_disk_free", _set(("hardware", "system_disk", "free_bytes"), None), "unknown", "dung lượng trống"),
    ("ssd", _set(("hardware", "system_disk", "media"), "hdd"), "fail", "SSD"),
    ("ssd", _set(("hardware", "system_disk", "media"), "unknown"), "unknown", "SSD hay HDD"),
    ("cpu_cores", _set(("hardware", "cpu", "logical_cores"), 2), "fail", "2 nhân logic"),
    ("cpu_cores", _set(("hardware", "cpu", "logical_cores"), None), "unknown", "số nhân"),
    ("tpm", _set(("firmware", "tpm"), {"present": "yes", "spec_version": "1.2"}), "fail", "TPM phiên bản 1.2"),
    ("tpm", _set(("firmware", "tpm"), {"present": "no", "spec_version": None}), "fail", "Không tìm thấy TPM"),
    ("tpm", _set(("firmware", "tpm"), {"present": "yes", "spec_version": None}), "unknown", "tpm.msc"),
    ("tpm", _set(("firmware", "tpm"), {"present": "unknown", "spec_version": None}), "unknown", "TPM"),
    ("uefi", _set(("firmware", "boot_mode"), "legacy"), "fail", "Legacy BIOS"),
    ("uefi", _set(("firmware", "boot_mode"), "unknown"), "unknown", "chế độ khởi động"),
    ("secure_boot", _set(("firmware", "secure_boot"), "disabled"), "fail", "Secure Boot đang tắt"),
    ("secure_boot", _set(("firmware", "secure_boot"), "unsupported"), "fail", "không dùng được Secure Boot"),
    ("secure_boot", _set(("firmware", "secure_boot"), "unknown"), "unknown", "trạng thái Secure Boot"),
    ("win11_cpu", _set(("hardware", "cpu", "model_number"), 58), "fail", "không được Windows 11 hỗ trợ"),
    ("win11_cpu", _set(("hardware", "cpu", "vendor"), None), "unknown", "danh sách CPU"),
    ("device_age", _set(("firmware", "bios", "date"), "2016-05-12"), "fail", "vượt giới hạn 7 năm"),
    ("device_age", _set(("firmware", "bios", "date"), "2023-02-30"), "unknown", "ngày BIOS"),
    ("device_age", _set(("firmware", "bios", "date"), None), "unknown", "ngày BIOS"),
    ("os_supported", _set(("os", "release"), "23H2"), "fail", "đã hết hỗ trợ ngày 11/11/2025"),
    ("os_supported", _set(("os", "id"), "plan9"), "unknown", "không có trong bảng"),
]


@pytest.mark.parametrize("rule_id, change, outcome, fragment", CASES)
def test_rule_outcomes(rule_id, change, outcome, fragment):
    report = ready_pc()
    if rule_id == "os_supported" and outcome == "fail":
        report["os"]["build"] = None        # let the reported release speak
    change(report)
    got = result(judge(report), rule_id)
    assert got.outcome == outcome, got
    assert fragment in got.message_vi, got.message_vi
    assert got.message_en and got.required


def test_minimums_are_inclusive():
    r = ready_pc()
    r["hardware"]["cpu"]["logical_cores"] = 4
    r["hardware"]["memory_bytes"] = -(-8 * GiB * 9 // 10)      # 90 %, rounded up to whole bytes
    r["hardware"]["system_disk"]["free_bytes"] = 20 * GiB
    r["firmware"]["bios"]["date"] = "2019-11-28"          # exactly 7 years before AS_OF
    verdict = judge(r)
    assert verdict.status == "ready", verdict.failures
    assert result(verdict, "device_age").required == "≥ 2019-11-28"
    r["firmware"]["bios"]["date"] = "2019-11-27"
    r["hardware"]["cpu"]["logical_cores"] = 3
    r["hardware"]["memory_bytes"] -= 1
    verdict = judge(r)
    assert [f.rule_id for f in verdict.failures] == ["memory", "cpu_cores", "device_age"]


def test_system_disk_falls_back_to_the_physical_disk_marked_system():
    r = ready_pc()
    r["hardware"]["system_disk"].update(size_bytes=None, media="unknown")
    r["hardware"]["disks"] = [{"name": "disk0", "size_bytes": 500 * GiB, "media": "hdd", "system": True},
                              {"name": "disk1", "size_bytes": 64 * GiB, "media": "ssd", "system": False}]
    verdict = judge(r)
    assert result(verdict, "system_disk").measured == "500 GiB"
    assert result(verdict, "ssd").outcome == "fail"


def test_secure_boot_cannot_be_on_with_legacy_boot():
    r = ready_pc()
    r["firmware"].update(boot_mode="legacy", secure_boot="unknown")
    assert result(judge(r), "secure_boot").outcome == "fail"


def test_kaby_lake_cpu_is_unknown_without_the_platform_id():
    r = ready_pc()
    r["hardware"]["cpu"].update(model="Intel(R) Core(TM) i5-7500", model_number=158, stepping=9)
    cpu = result(judge(r), "win11_cpu")
    assert cpu.outcome == "unknown"
    assert cpu.measured == "GenuineIntel family 6 model 158 stepping 9"


# ---------------------------------------------------------------- applicability

def linux_pc() -> dict:
    r = ready_pc()
    r["os"].update(family="linux", name="Ubuntu 24.04.1 LTS", id="ubuntu", version="24.04", release=None,
                   edition=None, build=None)
    r["firmware"]["tpm"] = {"present": "no", "spec_version": None}
    r["hardware"]["cpu"].update(model_number=42)
    return r


def test_windows_only_rules_do_not_apply_to_linux():
    verdict = judge(linux_pc())
    assert result(verdict, "tpm").outcome == "not_applicable"
    assert result(verdict, "win11_cpu").outcome == "not_applicable"
    assert result(verdict, "tpm").message_vi == "Không áp dụng cho máy chạy Linux"
    assert result(verdict, "os_supported").outcome == "pass"
    assert verdict.status == "ready"


def test_win11_cpu_does_not_apply_to_windows_server():
    r = ready_pc()
    r["os"].update(name="Windows Server 2022 Standard", id="windows-server", version="2022", release=None,
                   edition="ServerStandard", build="20348.1")
    r["hardware"]["cpu"].update(model_number=62)
    assert result(judge(r), "win11_cpu").outcome == "not_applicable"


def test_windows_only_rules_are_unknown_when_the_os_is_unknown():
    r = ready_pc()
    r["os"] = empty_report("00070", "t", "1", "agent")["os"]
    verdict = judge(r)
    assert result(verdict, "tpm").outcome == "unknown"
    assert result(verdict, "win11_cpu").outcome == "unknown"
    assert verdict.status == "unknown"


# ---------------------------------------------------------------- os_supported and its windows

def test_os_window_undecided_by_edition_is_unknown_until_both_dates_agree():
    r = ready_pc()
    r["os"].update(name="Windows 11", release="23H2", edition=None, build=None)
    assert result(judge(r, as_of=date(2025, 6, 1)), "os_supported").outcome == "pass"
    undecided = result(judge(r, as_of=date(2026, 1, 1)), "os_supported")
    assert undecided.outcome == "unknown" and "tùy phiên bản và ấn bản" in undecided.message_vi
    assert undecided.measured == "2025-11-11 … 2026-11-10"
    assert result(judge(r, as_of=date(2026, 11, 11)), "os_supported").outcome == "fail"


def test_last_day_of_support_still_counts():
    r = ready_pc()
    r["os"].update(name="Windows 10 Pro", version="10", release="22H2", build="19045.1")
    assert result(judge(r, as_of=date(2025, 10, 14)), "os_supported").outcome == "pass"
    assert result(judge(r, as_of=date(2025, 10, 15)), "os_supported").outcome == "fail"


RUNWAY = """\
name: runway
default:
  rules:
    - {id: os_runway, kind: os_supported, severity: soft, min_days_left: 180}
"""


def test_min_days_left_warns_before_the_end():
    baseline = parse_baseline(RUNWAY, "runway.yaml", "f" * 64)
    r = ready_pc()   # 11 25H2 Pro: supported until 2027-10-12
    early = judge(r, baseline, date(2027, 1, 1))
    assert early.status == "ready"
    late = judge(r, baseline, date(2027, 6, 1))
    runway = result(late, "os_runway")
    assert runway.outcome == "fail" and late.status == "ready_with_conditions"
    assert "chỉ còn được hỗ trợ 133 ngày" in runway.message_vi
    assert runway.required == "≥ 2027-11-28"


# ---------------------------------------------------------------- verdicts

def test_every_verdict():
    r = ready_pc()
    assert judge(r).status == "ready"
    soft = copy.deepcopy(r)
    soft["hardware"]["system_disk"]["media"] = "hdd"
    assert judge(soft).status == "ready_with_conditions"
    unknown = copy.deepcopy(soft)
    unknown["hardware"]["memory_bytes"] = None
    assert judge(unknown).status == "unknown"
    hard = copy.deepcopy(unknown)
    hard["firmware"]["tpm"] = {"present": "no", "spec_version": None}
    verdict = judge(hard)
    assert verdict.status == "not_ready"
    assert [f.rule_id for f in verdict.failures] == ["memory", "tpm", "ssd"]


def test_soft_unknown_alone_keeps_ready_but_is_listed():
    r = ready_pc()
    r["firmware"]["bios"]["date"] = None
    verdict = judge(r)
    assert verdict.status == "ready"
    assert [f.rule_id for f in verdict.failures] == ["device_age"]


def test_other_class_gets_default_rules_only():
    r = ready_pc()
    r["device"]["class"] = "other"
    assert [x.rule_id for x in judge(r).results] == ["os_supported"]


def test_round_trip_through_json():
    r = ready_pc()
    r["hardware"]["memory_bytes"] = 2 * GiB
    verdict = judge(r)
    data = json.loads(json.dumps(verdict.to_dict(), ensure_ascii=False))
    assert Verdict.from_dict(data) == verdict
    assert data["results"][1]["message_vi"].startswith("RAM 2 GiB")


def test_default_lifecycle_is_used_when_none_is_given():
    assert evaluate(ready_pc(), BASELINE, AS_OF).status == "ready"


# ---------------------------------------------------------------- properties over any schema-valid report

def _maybe(strategy):
    return st.one_of(st.none(), strategy)


# Text a report may carry: the collector refuses control and bidirectional characters (inventory/text.py).
TEXT = st.text(min_size=1, max_size=12).filter(lambda s: unsafe_character(s) is None)
SIZES = _maybe(st.integers(0, 2 ** 44))


@st.composite
def reports(draw):
    r = empty_report("00070", "prop", "1", draw(st.sampled_from(["agent", "ssh", "glpi", "simulator"])))
    r["device"].update(id="d", hostname="h", **{"class": draw(st.sampled_from(DEVICE_CLASSES))})
    r["schema_version"] = 3  # the version that knows every class (equipment too)
    cpu = r["hardware"]["cpu"]
    cpu["vendor"] = draw(_maybe(st.sampled_from(["GenuineIntel", "AuthenticAMD", "HygonGenuine", "x"])))
    cpu["family"] = draw(_maybe(st.integers(0, 1024)))
    cpu["model_number"] = draw(_maybe(st.integers(0, 1024)))
    cpu["stepping"] = draw(_maybe(st.integers(0, 1024)))
    cpu["logical_cores"] = draw(_maybe(st.integers(1, 65536)))
    r["hardware"]["memory_bytes"] = draw(SIZES)
    media = st.sampled_from(["ssd", "hdd", "unknown"])
    r["hardware"]["disks"] = draw(st.lists(st.fixed_dictionaries(
        {"name": TEXT, "size_bytes": SIZES, "media": media}, optional={"system": _maybe(st.booleans())}),
        max_size=3))
    r["hardware"]["system_disk"].update(size_bytes=draw(SIZES), free_bytes=draw(SIZES), media=draw(media))
    r["firmware"].update(
        boot_mode=draw(st.sampled_from(["uefi", "legacy", "unknown"])),
        secure_boot=draw(st.sampled_from(["enabled", "disabled", "unsupported", "unknown"])),
        tpm={"present": draw(st.sampled_from(["yes", "no", "unknown"])),
             "spec_version": draw(_maybe(st.from_regex(r"\A[0-9]{1,2}\.[0-9]{1,2}\Z")))},
        bios={"vendor": None, "version": None,
              "date": draw(_maybe(st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")))})
    r["os"].update(
        family=draw(st.sampled_from(["windows", "linux", "macos", "other"])),
        name=draw(st.sampled_from(["Windows 11 Pro", "Debian GNU/Linux 12 (bookworm)", "unknown", "Ωmega"])),
        id=draw(st.sampled_from(["windows", "windows-server", "debian", "ubuntu", "rhel", "unknown", "x"])),
        version=draw(_maybe(st.sampled_from(["10", "11", "2019", "2012 R2", "12", "22.04", "9.4", "7", "?"]))),
        release=draw(_maybe(st.sampled_from(["22H2", "23H2", "24H2", "1809", "zz"]))),
        edition=draw(_maybe(st.sampled_from(["Professional", "Enterprise", "EnterpriseS", "Core", "Odd"]))),
        build=draw(_maybe(st.one_of(st.sampled_from(["19045.1", "22631", "10.0.17763", "26100"]), TEXT))))
    return r


PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DATES = st.dates(date(2015, 1, 1), date(2035, 12, 31))


@PROPERTY
@given(reports(), DATES)
def test_evaluation_is_total(report, as_of):
    assert validate_report(report) == []
    verdict = evaluate(report, BASELINE, as_of, LIFECYCLE)
    assert verdict.status in STATUSES
    assert len(verdict.results) == len(BASELINE.rules_for(report["device"]["class"]))
    for r in verdict.results:
        assert r.outcome in OUTCOMES
        assert r.message_vi and r.message_en and r.required
    assert Verdict.from_dict(json.loads(json.dumps(verdict.to_dict()))) == verdict


@PROPERTY
@given(reports(), DATES)
def test_status_is_a_function_of_the_results(report, as_of):
    verdict = evaluate(report, BASELINE, as_of, LIFECYCLE)
    outcomes = {(r.severity, r.outcome) for r in verdict.results}
    assert verdict.status == status_of(verdict.results) == status_of(reversed(verdict.results))
    assert (verdict.status == "not_ready") == (("hard", "fail") in outcomes)
    assert (verdict.status == "unknown") == (("hard", "fail") not in outcomes and ("hard", "unknown") in outcomes)
    if verdict.status == "ready":
        assert ("soft", "fail") not in outcomes


RANK = {"not_ready": 0, "unknown": 1, "ready_with_conditions": 2, "ready": 3}


@PROPERTY
@given(reports(), DATES, st.integers(0, 2 ** 40), st.integers(1, 2 ** 40))
def test_adding_memory_never_makes_a_verdict_worse(report, as_of, memory, extra):
    report["hardware"]["memory_bytes"] = memory
    before = evaluate(report, BASELINE, as_of, LIFECYCLE)
    report["hardware"]["memory_bytes"] = memory + extra
    after = evaluate(report, BASELINE, as_of, LIFECYCLE)
    assert RANK[after.status] >= RANK[before.status]
