"""Coverage against the equipment register, read from a store a real collector fills: a unit cannot look ready
because the few machines that report pass."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from collector.i18n import HANOI
from collector.readiness.export import RANKING
from collector.readiness.history import DeviceLife, first_ready
from collector.store import queries
from collector.store.engine import make_engine
from inventory.equipment import coverage
from inventory.readiness import DEADLINE, VERDICTS, unit_status, unit_status_covered
from inventory.registry import load_registry

from conftest import cli
from support.reports import windows_pc

WARD = "00070"
REGISTRY = load_registry()


def passing_pc(n: int, at: datetime) -> dict:
    """A Windows 11 desktop meeting every hard workstation rule, as a distinct machine ``n``."""
    doc = windows_pc(WARD, device=f"4C4C4544-{n:04d}/SN{n:04d}", at=at.strftime("%Y-%m-%dT%H:%M:%SZ"), ram_gib=16)
    doc["device"]["hostname"] = f"HK-PC-{n:03d}"
    doc["hardware"]["cpu"].update(model="Intel(R) Core(TM) i5-12400", family=6, model_number=151, stepping=5,
                                  logical_cores=12, physical_cores=6)
    doc["hardware"]["system_disk"]["media"] = "ssd"
    doc["firmware"].update(boot_mode="uefi", secure_boot="enabled", tpm={"present": "yes", "spec_version": "2.0"},
                           bios={"vendor": "AMI", "version": "1.2", "date": "2023-03-01"})
    doc["os"].update(name="Windows 11 Pro", version="11", release="25H2", build="26200.1")
    return doc


def post(collector, token: str, doc: dict) -> None:
    r = requests.post(collector.url + "/api/v1/reports", json=doc, headers={"Authorization": f"Bearer {token}"},
                      timeout=30)
    assert r.status_code == 201, r.text
    assert r.json()["verdict"] in ("ready", "ready_with_conditions"), r.json()


def read(db_url: str):
    """The unit's summary, coverage and named assets, as the shared queries give them."""
    since = datetime.now(timezone.utc) - timedelta(days=30)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            summary = next(s for s in queries.unit_summaries(conn, REGISTRY, since) if s.code == WARD)
            found = queries.unit_coverage(conn, REGISTRY, since)[WARD]
            assets = queries.unit_assets(conn, WARD, since)
    finally:
        engine.dispose()
    return summary, found, assets


def served(collector) -> dict:
    """What the running collector says of the unit: API detail, list row, /metrics, the CSV export, the page."""
    detail = requests.get(f"{collector.url}/api/v1/wards/{WARD}", timeout=30).json()
    listed = next(u for u in requests.get(f"{collector.url}/api/v1/wards", timeout=30).json()["units"]
                  if u["code"] == WARD)
    metrics: dict[tuple, float] = {}
    for family in text_string_to_metric_families(requests.get(collector.url + "/metrics", timeout=30).text):
        for sample in family.samples:
            if sample.name in ("hdc_units", "hdc_ward_coverage_ratio", "hdc_ward_expected_devices",
                               "hdc_ward_reporting_devices", "hdc_ward_overdue_seconds",
                               "hdc_ward_ready_since_timestamp_seconds"):
                metrics[(sample.name, *sorted(sample.labels.items()))] = sample.value
    answer = requests.get(collector.url + "/export/units.csv?lang=en", timeout=30)
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    exported = next(dict(zip([c.key for c in RANKING], r)) for r in rows[1:] if r[0] == WARD)
    page = requests.get(f"{collector.url}/units/{WARD}?lang=en", timeout=30).text
    return {"detail": detail, "listed": listed, "metrics": metrics, "export": exported, "page": page}


def test_one_passing_device_of_thirty_is_not_ready_and_thirty_are(collector, tmp_path: Path):
    """Through the running collector: API, list, /metrics, CSV and the unit page tell the same status and
    coverage at each step (no register, 1 of 30 reporting, 30 of 30)."""
    token = collector.token(WARD)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    post(collector, token, passing_pc(1, now))
    summary, found, _ = read(collector.db_url)
    # What the verdicts alone say: the overstatement the register corrects.
    assert unit_status(summary.counts) == "ready"
    assert (found.expected, found.reporting, found.ratio, summary.status) == (0, 0, None, "no_register")
    seen = served(collector)
    unit = seen["detail"]["unit"]
    assert unit["status"] == seen["listed"]["status"] == "no_register" and unit["rag"] == "grey"
    assert {k: unit["coverage"][k] for k in ("expected", "reporting", "ratio")} == {
        "expected": 0, "reporting": 0, "ratio": None}
    assert not any(k[0] == "hdc_ward_coverage_ratio" and ("ward", WARD) in k for k in seen["metrics"])
    assert seen["metrics"][("hdc_units", ("status", "no_register"))] == 1
    assert seen["metrics"][("hdc_units", ("status", "ready"))] == 0
    assert seen["export"]["status"] == "No register yet" and seen["export"]["coverage"] == ""
    assert 'id="unit-no-register"' in seen["page"] and "import it (hdc-collector register import)" in seen["page"]

    sheet = tmp_path / "register.csv"
    sheet.write_text("unit_code,device_class,expected,asset_tag,serial,hostname,location,responsible\n"
                     "70,workstation,30,,,,,\n"
                     "70,workstation,,HK-TS-001,SN0001,,Bộ phận một cửa bàn 1,Nguyễn Văn A\n"
                     "70,workstation,,HK-TS-099,SN9999,,Phòng kế toán,Lê Thị C\n", encoding="utf-8")
    done = cli("collector.cli", "register", "import", str(sheet), "--db", collector.db_url, "--by", "test")
    assert done.returncode == 0, done.stderr
    summary, found, assets = read(collector.db_url)
    assert (found.expected, found.reporting, found.ratio) == (30, 1, 1 / 30)
    assert found.by_class["workstation"] == {"expected": 30, "reporting": 1, "ratio": 1 / 30}
    assert summary.status == "incomplete" and summary.coverage == found
    assert assets.matched == {"HK-TS-001": "4C4C4544-0001/SN0001"}
    assert [(a.asset_tag, a.location, a.responsible) for a in assets.missing] == [
        ("HK-TS-099", "Phòng kế toán", "Lê Thị C")]
    assert assets.unregistered == ()
    seen = served(collector)
    unit = seen["detail"]["unit"]
    overdue = max(0, (datetime.now(HANOI).date() - DEADLINE).days)
    assert unit["status"] == seen["listed"]["status"] == "incomplete"
    assert unit["coverage"] == seen["listed"]["coverage"] == {
        "expected": 30, "reporting": 1, "ratio": round(1 / 30, 4),
        "by_class": {"workstation": {"expected": 30, "reporting": 1, "ratio": 1 / 30}}}
    assert unit["days_overdue"] == seen["listed"]["days_overdue"] == overdue and unit["ready_since"] is None
    assert seen["listed"]["ready_since"] is None and seen["export"]["ready_since"] == ""
    assert seen["metrics"][("hdc_ward_overdue_seconds", ("ward", WARD))] == overdue * 86_400
    assert ("hdc_ward_ready_since_timestamp_seconds", ("ward", WARD)) not in seen["metrics"]
    assert seen["detail"]["register"] == {"unregistered": [], "missing": [
        {"device_class": "workstation", "asset_tag": "HK-TS-099", "serial": "SN9999", "hostname": None,
         "location": "Phòng kế toán", "responsible": "Lê Thị C"}]}
    assert seen["metrics"][("hdc_ward_coverage_ratio", ("ward", WARD))] == 1 / 30
    assert seen["metrics"][("hdc_ward_expected_devices", ("device_class", "workstation"), ("ward", WARD))] == 30
    assert seen["metrics"][("hdc_ward_reporting_devices", ("device_class", "workstation"), ("ward", WARD))] == 1
    assert seen["metrics"][("hdc_units", ("status", "incomplete"))] == 1
    assert (seen["export"]["status"], seen["export"]["expected"], seen["export"]["reporting"],
            seen["export"]["coverage"], seen["export"]["days_overdue"]) == (
        "Too few machines report", "30", "1", str(round(1 / 30, 4)), str(overdue))
    page = seen["page"]
    assert 'data-asset="HK-TS-099"' in page and "Lê Thị C" in page and "HK-TS-001" not in page
    assert "Install the agent on the registered machines that do not report." in page
    assert ('id="unit-days-overdue"' in page) == (overdue > 0)

    for n in range(2, 31):
        post(collector, token, passing_pc(n, now))
    summary, found, assets = read(collector.db_url)
    assert (found.expected, found.reporting, found.ratio, summary.status) == (30, 30, 1.0, "ready")
    assert [a.asset_tag for a in assets.missing] == ["HK-TS-099"]
    assert len(assets.unregistered) == 29 and assets.unregistered[0].hostname == "HK-PC-002"
    seen = served(collector)
    unit = seen["detail"]["unit"]
    # The 30th machine's first report made the unit ready: that is its day (Hanoi).
    today = now.astimezone(HANOI).date().isoformat()
    assert (unit["status"], unit["rag"], unit["days_overdue"], unit["ready_since"]) == ("ready", "green", 0, today)
    # The same day in the ranking, its download and /metrics (start of that day in Hanoi).
    assert seen["listed"]["ready_since"] == today and seen["metrics"][("hdc_ward_overdue_seconds", ("ward", WARD))] == 0
    assert seen["export"]["ready_since"] == now.astimezone(HANOI).strftime("%d/%m/%Y")
    day_start = datetime.combine(now.astimezone(HANOI).date(), datetime.min.time(), HANOI)
    assert seen["metrics"][("hdc_ward_ready_since_timestamp_seconds", ("ward", WARD))] == day_start.timestamp()
    assert unit["coverage"]["ratio"] == seen["listed"]["coverage"]["ratio"] == 1.0
    assert seen["metrics"][("hdc_ward_coverage_ratio", ("ward", WARD))] == 1.0
    assert seen["metrics"][("hdc_units", ("status", "ready"))] == 1
    assert len(seen["detail"]["register"]["unregistered"]) == 29
    assert f'data-date="{today}"' in seen["page"] and 'data-device="4C4C4544-0002/SN0002"' in seen["page"]
    assert seen["export"]["status"] == "Ready" and seen["export"]["days_overdue"] == "0"


@pytest.mark.parametrize("value", ["0", "1.5"])
def test_a_bad_coverage_threshold_is_one_line_naming_the_option(value):
    done = cli("collector.cli", "serve", "--coverage-threshold", value, "--port", "0")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--coverage-threshold" in done.stderr and "Traceback" not in done.stderr


def test_first_ready_is_the_first_moment_the_register_was_covered_and_every_device_passed():
    """Judged against the register as it is now: ready once both PCs report and pass, not when the first one did,
    and the first such moment even if the unit fell back later."""
    day = datetime(2025, 11, 1, 3, tzinfo=timezone.utc)
    lives = [DeviceLife("a", WARD, "pc-a", ((day, "ready"),), None, None),
             DeviceLife("b", WARD, "pc-b", ((day + timedelta(days=2), "not_ready"), (day + timedelta(days=5), "ready"),
                                            (day + timedelta(days=9), "not_ready")), None, None),
             DeviceLife("c", WARD, "vm-c", ((day, "ready"),), day + timedelta(days=1), None)]
    classes = {"a": "workstation", "b": "workstation", "c": "virtual_machine"}
    assert first_ready(lives, classes, {"workstation": 2}, 1.0) == day + timedelta(days=5)
    assert first_ready(lives, classes, {"workstation": 2}, 0.5) == day
    assert first_ready(lives, classes, {"workstation": 2, "virtual_machine": 1}, 1.0) is None  # c fell silent
    assert first_ready(lives, classes, {}, 1.0) is None  # no register, never ready


def _first_ready_by_every_moment(lives, classes, expected, threshold):
    """The reference: every device's verdict worked out afresh at each moment something changed."""
    def status_at(life, moment):
        if life.end is not None and life.end <= moment:
            return None
        status = None
        for at, to in life.changes:
            if at > moment:
                break
            status = to
        return status

    for moment in sorted({at for life in lives for at, _ in life.changes} | {life.end for life in lives if life.end}):
        counts, reporting = dict.fromkeys(VERDICTS, 0), {}
        for life in lives:
            status = status_at(life, moment)
            if status is not None:
                counts[status] += 1
                cls = classes.get(life.device_id, "other")
                reporting[cls] = reporting.get(cls, 0) + 1
        if unit_status_covered(counts, coverage(expected, reporting).ratio, threshold) == "ready":
            return moment
    return None


_life = st.tuples(st.lists(st.tuples(st.integers(0, 12), st.sampled_from(VERDICTS)), min_size=1, max_size=4),
                  st.none() | st.integers(0, 14), st.sampled_from(["workstation", "server"]))


@settings(max_examples=300, deadline=None)
@given(lives=st.lists(_life, max_size=6), expected=st.dictionaries(st.sampled_from(["workstation", "server"]),
                                                                    st.integers(0, 4)),
       threshold=st.sampled_from([0.5, 0.8, 1.0]))
def test_first_ready_in_one_sweep_is_the_moment_by_moment_reading(lives, expected, threshold):
    """Ties of moments (a change and an end at once, two changes at once), changes after an end, classes short of
    or beyond the register: the sweep finds the moment judging every device at every moment finds."""
    day = datetime(2025, 11, 1, 3, tzinfo=timezone.utc)
    made = [DeviceLife(f"d{i}", WARD, f"pc-{i}", tuple((day + timedelta(days=t), s) for t, s in sorted(changes)),
                       None if end is None else day + timedelta(days=end), None)
            for i, (changes, end, _cls) in enumerate(lives)]
    classes = {f"d{i}": cls for i, (_changes, _end, cls) in enumerate(lives)}
    assert first_ready(made, classes, expected, threshold) == _first_ready_by_every_moment(made, classes, expected,
                                                                                          threshold)
