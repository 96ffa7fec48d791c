"""The upgrade plan served by a real collector: API, page, exports and /metrics agree, priced by its price list.

One collector per backend, started with a small price list of known prices
(``serve --price-list``), receives real reports: a unit with an old PC to
replace, a Windows 10 PC that needs a memory module and the Windows 11
upgrade, and a passing Windows 11 PC; and a second unit whose devices were
fixed one every two days for a fortnight, so it has a forecast date.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from jsonschema import Draft202012Validator
from openpyxl import load_workbook
from prometheus_client.parser import text_string_to_metric_families

from inventory.prices import load_price_list
from inventory.report import GiB, new_report_id, rfc3339

from conftest import cli, start_collector, stop
from support.exposition import promtool_check
from support.reports import windows_pc

PLANNED, PACED = "00070", "00082"
PLANNED_TOTAL = 15000000 + 400000 + 2 * 15000000 + 8 * 100000
PRICES = {"ram-ddr4-4gb": 400000, "ram-ddr4-8gb": 700000, "ram-ddr4-16gb": 1300000, "pc-desktop-office": 15000000,
          "win11-upgrade": 0, "labour-hour": 100000}
HEADER = ("item_id,description_vi,unit_of_measure,unit_price_vnd,regulation_number,regulation_date,valid_from,"
          "valid_to,source")
# What a report or a price list says is data: an item's description starting like a formula stays text.
FORMULA_LIKE = "=HYPERLINK(\"http://x\";\"RAM\")"


def _price_list(path: Path) -> Path:
    """Every item of the shipped example (the actions file uses them all), at the test's prices where given."""
    rows = [HEADER]
    for item, line in sorted(load_price_list().prices_on(date.today()).items()):
        description = FORMULA_LIKE if item == "ram-ddr4-4gb" else line.description_vi
        rows.append(f'{item},"{description.replace(chr(34), chr(34) * 2)}",{line.unit_of_measure},'
                    f"{PRICES.get(item, line.unit_price_vnd)},12/2025/QĐ-UBND,20/11/2025,2025-11-01,,")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _modern(ward: str, device: str, hostname: str, at: datetime, version: str = "11", ram_gib: int = 8) -> dict:
    """A PC on Windows 11's processor list with TPM 2.0, UEFI and Secure Boot on, on Windows 11 or 10."""
    doc = windows_pc(ward, device, rfc3339(at), ram_gib=ram_gib)
    doc["device"]["hostname"] = hostname
    doc["hardware"]["cpu"].update(model="Intel(R) Core(TM) i5-8500 CPU @ 3.00GHz", model_number=158, stepping=10,
                                  logical_cores=6, physical_cores=6, max_mhz=3000.0)
    doc["hardware"]["system_disk"].update(size_bytes=237 * GiB, free_bytes=150 * GiB, media="ssd")
    doc["firmware"].update(boot_mode="uefi", secure_boot="enabled", tpm={"present": "yes", "spec_version": "2.0"},
                           bios={"vendor": "Dell Inc.", "version": "1.2", "date": "2023-03-01"})
    if version == "11":  # in support until 10/2028
        doc["os"].update(name="Windows 11 Enterprise", version="11", release="25H2", edition="Enterprise",
                         build="26200.7462")
    return doc


def _old(ward: str, device: str, hostname: str, at: datetime) -> dict:
    doc = windows_pc(ward, device, rfc3339(at))
    doc["device"]["hostname"] = hostname
    return doc


@pytest.fixture
def served(db_url, tmp_path):
    c = start_collector(db_url, "--price-list", str(_price_list(tmp_path / "gia.csv")))
    try:
        now = datetime.now(timezone.utc) - timedelta(minutes=5)
        tokens = {code: c.token(code) for code in (PLANNED, PACED)}

        def post(doc: dict) -> None:
            answer = requests.post(f"{c.url}/api/v1/reports", json=dict(doc, report_id=new_report_id()),
                                   headers={"Authorization": f"Bearer {tokens[doc['ward_code']]}"}, timeout=30)
            assert answer.status_code == 201, answer.text

        post(_old(PLANNED, "old", "HK-OLD", now))
        post(_modern(PLANNED, "w10", "HK-W10", now, version="10", ram_gib=4))
        post(_modern(PLANNED, "w11", "HK-W11", now))
        # Twelve devices not ready from 20 days ago; one fixed every two days from 18 to 4 days ago: 4 left.
        for i in range(12):
            post(_old(PACED, f"p{i}", f"CN-{i:02}", now - timedelta(days=20)))
            if i < 8:
                post(_modern(PACED, f"p{i}", f"CN-{i:02}", now - timedelta(days=18 - 2 * i)))
        # The unit's register: five workstations needed, three owned, so two to buy.
        (tmp_path / "register.csv").write_text(f"unit_code,device_class,expected,needed\n{PLANNED},workstation,3,5\n",
                                               encoding="utf-8")
        done = cli("collector.cli", "register", "import", str(tmp_path / "register.csv"), "--db", db_url)
        assert done.returncode == 0, done.stderr
        yield c
    finally:
        stop(c.proc)


def _get(c, path: str) -> requests.Response:
    answer = requests.get(c.url + path, timeout=60)
    assert answer.status_code == 200, (path, answer.text)
    return answer


def _valid(c, body: dict, schema: str) -> None:
    doc = _get(c, "/api/v1/openapi.json").json()
    Draft202012Validator({"$ref": f"#/components/schemas/{schema}", "components": doc["components"]}).validate(body)


def test_plan_is_priced_by_the_price_list_and_everything_agrees(served):
    c = served
    # --- the unit's bill of quantities: the old PC replaced (no memory module for it), the Windows 10 PC given
    # a 4 GB module and Windows 11, two machines the register says it lacks, the technicians' hours last.
    unit = _get(c, f"/api/v1/wards/{PLANNED}/plan").json()
    _valid(c, unit, "UnitPlan")
    lines = [(i["action"], i["item"], i["quantity"], i["unit_price_vnd"], i["amount_vnd"], i["device_ids"])
             for i in unit["items"]]
    assert lines == [("add_memory", "ram-ddr4-4gb", 1, 400000, 400000, ["w10"]),
                     ("upgrade_windows11", "win11-upgrade", 1, 0, 0, ["w10"]),
                     ("replace_machine", "pc-desktop-office", 1, 15000000, 15000000, ["old"]),
                     ("buy_machine", "pc-desktop-office", 2, 15000000, 30000000, []),
                     ("labour", "labour-hour", 8.0, 100000, 800000, ["old", "w10"])]
    assert unit["total_vnd"] == PLANNED_TOTAL and unit["labour_hours"] == 8.0
    assert unit["price_list"]["example"] is False and unit["price_list"]["regulations"] == [
        "12/2025/QĐ-UBND ngày 20/11/2025"]
    assert {d["device_id"]: [a["action"] for a in d["actions"]] for d in unit["devices"]} == {
        "old": ["replace_machine"], "w10": ["add_memory", "upgrade_windows11"], "w11": []}
    assert unit["win11"]["eligible"] == {"devices": 2, "windows_10": 1}
    assert unit["win11"]["not_eligible"] == {"devices": 1, "windows_10": 1}

    # --- the device's Windows 11 judgement, beside the city's baseline.
    device = _get(c, "/api/v1/devices/old").json()
    _valid(c, device, "DeviceDetail")
    assert device["win11"]["eligible"] is False
    assert {ch["id"]: ch["outcome"] for ch in device["win11"]["checks"]}["processor"] == "fail"
    assert _get(c, "/api/v1/devices/w10").json()["win11"]["eligible"] is True

    # --- the city: per-unit totals add up; the paced unit has a forecast day in the future.
    city = _get(c, "/api/v1/plan").json()
    _valid(c, city, "CityPlan")
    totals = {u["unit_code"]: u["total_vnd"] for u in city["units"]}
    assert totals[PLANNED] == PLANNED_TOTAL and city["total_vnd"] == sum(totals.values())
    assert totals[PACED] == 4 * 15000000 + 4 * 2 * 100000
    forecast = next(u["forecast"] for u in city["units"] if u["unit_code"] == PACED)
    assert forecast["reason"] is None and forecast["ready_on"] > date.today().isoformat(), forecast
    assert forecast["low"] <= forecast["ready_on"] <= forecast["high"]
    detail = _get(c, f"/api/v1/wards/{PACED}").json()
    _valid(c, detail, "UnitDetail")
    assert detail["unit"]["forecast"] == forecast
    assert _get(c, f"/api/v1/wards/{PLANNED}").json()["unit"]["forecast"]["reason"] == "too_little_history"
    ranked = _get(c, "/api/v1/wards?sort=forecast").json()["units"]
    assert ranked[0]["code"] == PACED and ranked[0]["forecast"] == forecast

    # --- /metrics: the same totals and forecast, valid for promtool.
    text = _get(c, "/metrics").text
    promtool_check(text)
    values = {(s.name, tuple(sorted(s.labels.items()))): s.value
              for f in text_string_to_metric_families(text) for s in f.samples}
    cost = {}
    for (name, labels), v in values.items():
        if name == "hdc_ward_plan_cost_vnd":
            ward = dict(labels)["ward"]
            cost[ward] = cost.get(ward, 0) + v
    assert cost[PLANNED] == PLANNED_TOTAL and cost[PACED] == totals[PACED]
    assert values[("hdc_win11_devices", (("eligibility", "not_eligible"), ("ward", PLANNED)))] == 1
    ready = values[("hdc_ward_forecast_ready_timestamp_seconds", (("ward", PACED),))]
    hanoi = timezone(timedelta(hours=7))
    assert datetime.fromtimestamp(ready, hanoi).date().isoformat() == forecast["ready_on"]
    assert not any(n == "hdc_ward_forecast_ready_timestamp_seconds" and dict(lb)["ward"] == PLANNED
                   for n, lb in values)

    # --- the pages: the unit's plan in VND written the Vietnamese way, its forecast; the city's total.
    page = _get(c, f"/units/{PACED}").text
    assert 'data-total-vnd="60800000"' in page and "60.800.000 đ" in page
    assert f'data-ready-on="{forecast["ready_on"]}"' in page
    english = _get(c, f"/units/{PLANNED}?lang=en").text
    assert "VND 46,200,000" in english and "Replace the machine" in english
    # The unit's chart projects the same day, with its interval; a unit with no forecast says why beside it.
    drawn = re.search(r'<svg id="trend".*<g class="forecast" data-ready-on="([-\d]+)" data-low="([-\d]+)" '
                      r'data-high="([-\d]+)"><polygon class="projection-interval".*</svg>', page, re.S)
    assert drawn and drawn.groups() == (forecast["ready_on"], forecast["low"], forecast["high"])
    assert 'class="projection' not in english
    assert re.search(r'<p id="trend-forecast"><span data-reason="too_little_history">No forecast: fewer than 7 days',
                     english)
    overview = _get(c, "/?sort=forecast").text
    assert f'data-total-vnd="{city["total_vnd"]}"' in overview
    # The city's forecast, drawn on the burn-down as a projection from today's count to zero on that day.
    assert city["forecast"]["reason"] is None and city["forecast"]["ready_on"] > date.today().isoformat()
    assert f'data-ready-on="{city["forecast"]["ready_on"]}"' in overview
    assert re.search(r'<svg id="burndown".*<polyline class="projection" points="[\d.]+,[\d.]+ [\d.]+,[\d.]+"/>',
                     overview, re.S)
    first = re.search(r'<tr data-ward="(\d+)".*?data-forecast="([^"]*)"', overview, re.S)
    assert first.groups() == (PACED, forecast["ready_on"])

    # --- the estimate: Vietnamese headers, the API's sums, nothing a spreadsheet would evaluate.
    book = load_workbook(io.BytesIO(_get(c, f"/export/plan.xlsx?ward={PLANNED}").content))
    sheet = book.active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:9] == ("Mã đơn vị", "Đơn vị", "Công việc", "Mã hàng", "Tên hàng hóa, dịch vụ", "Đơn vị tính",
                           "Số lượng", "Đơn giá (đồng)", "Thành tiền (đồng)")
    assert rows[-2][2] == "Cộng đơn vị" and rows[-2][8] == PLANNED_TOTAL == sum(r[8] for r in rows[1:-2])
    assert rows[-1][2] == "Tổng cộng" and rows[-1][8] == PLANNED_TOTAL
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert FORMULA_LIKE in [r[4] for r in rows]
    city_csv = _get(c, "/export/plan.csv").content.decode("utf-8-sig")
    body = list(csv.reader(io.StringIO(city_csv)))
    assert body[-1][2] == "Tổng cộng" and int(body[-1][8]) == city["total_vnd"]
    assert not any(re.match(r"[=+\-@]", cell) for row in body for cell in row), "a cell a spreadsheet evaluates"
    assert requests.get(f"{c.url}/export/plan.xlsx?ward=99999", timeout=30).status_code == 404


def test_a_bad_price_list_stops_the_start_with_one_line_naming_the_row(tmp_path):
    bad = tmp_path / "gia.csv"
    bad.write_text(f"{HEADER}\nram-ddr4-4gb,RAM,thanh,\"1,5\",12/2025/QĐ-UBND,20/11/2025,2025-11-01,,\n",
                   encoding="utf-8")
    done = cli("collector.cli", "serve", "--db", f"sqlite:///{tmp_path / 's.sqlite3'}", "--port", "0",
               "--price-list", str(bad), timeout=60)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"Error: {bad}: row 2: column unit_price_vnd: '1,5' is not a whole amount in VND (e.g. 1250000 or "
        "1.250.000)"]
    short = tmp_path / "short.csv"
    short.write_text(f"{HEADER}\nlabour-hour,Công,giờ,100000,12/2025/QĐ-UBND,20/11/2025,2025-11-01,,\n",
                     encoding="utf-8")
    done = cli("collector.cli", "serve", "--db", f"sqlite:///{tmp_path / 's.sqlite3'}", "--port", "0",
               "--price-list", str(short), timeout=60)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"Error: {short}: no price in force on ") and "pc-desktop-office (replace_machine" in line


def test_page_api_exports_and_metrics_agree_on_every_units_plan_for_the_simulated_fleet(fleet):
    """The shared simulated fleet (tests/support/fleet.py): each unit's total and forecast day, everywhere."""
    client = fleet.client()
    city = client.get("/api/v1/plan").get_json()
    totals = {u["unit_code"]: u["total_vnd"] for u in city["units"]}
    days = {u["unit_code"]: u["forecast"]["ready_on"] for u in city["units"]}
    assert len(totals) == 126 and city["total_vnd"] == sum(totals.values()) > 0
    assert {u["code"]: u["forecast"]["ready_on"] for u in client.get("/api/v1/wards").get_json()["units"]} == days

    metrics = {}
    ready = {}
    for family in text_string_to_metric_families(client.get("/metrics").get_data(as_text=True)):
        for s in family.samples:
            if s.name == "hdc_ward_plan_cost_vnd":
                metrics[s.labels["ward"]] = metrics.get(s.labels["ward"], 0) + s.value
            elif s.name == "hdc_ward_forecast_ready_timestamp_seconds":
                ready[s.labels["ward"]] = datetime.fromtimestamp(s.value, timezone(timedelta(hours=7))).date()
    assert metrics == pytest.approx(totals)
    assert {code: day.isoformat() for code, day in ready.items()} == {c: d for c, d in days.items() if d}

    overview = client.get("/").get_data(as_text=True)
    assert f'data-total-vnd="{city["total_vnd"]}"' in overview
    assert dict(re.findall(r'<tr data-ward="(\d+)".*?data-forecast="([^"]*)"', overview, re.S)) == {
        c: d or "" for c, d in days.items()}
    rows = list(csv.reader(io.StringIO(client.get("/export/plan.csv").get_data().decode("utf-8-sig"))))
    unit_rows = {r[0]: int(r[8]) for r in rows[1:] if r[2] == "Cộng đơn vị"}
    assert unit_rows == totals
    costliest = max(totals, key=totals.get)
    page = client.get(f"/units/{costliest}").get_data(as_text=True)
    assert f'data-total-vnd="{totals[costliest]}"' in page
    if days[costliest]:
        assert f'data-ready-on="{days[costliest]}"' in page


def test_a_price_that_expires_while_serving_is_a_503_naming_the_item_and_metrics_go_on(tmp_path):
    from collector.app import create_app
    from collector.settings import Settings

    app = create_app(Settings(db_url=f"sqlite:///{tmp_path / 'store.sqlite3'}"))
    c = app.extensions["hdc"]
    expired = tmp_path / "expired.csv"
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    expired.write_text(f"{HEADER}\nlabour-hour,Công,giờ,100000,12/2025/QĐ-UBND,20/11/2025,2025-11-01,{yesterday},\n",
                       encoding="utf-8")
    c.plan_book.price_list = load_price_list(expired)  # as if its lines had run out since the start
    try:
        client = app.test_client()
        answer = client.get("/api/v1/plan")
        assert answer.status_code == 503 and answer.get_json()["error"] == "price_list_incomplete"
        assert "'labour-hour'" in answer.get_json()["message"] and "no price in force" in answer.get_json()["message"]
        assert client.get(f"/units/{PLANNED}").status_code == 503
        metrics = client.get("/metrics")
        assert metrics.status_code == 200
        names = {s.name for f in text_string_to_metric_families(metrics.get_data(as_text=True)) for s in f.samples}
        assert "hdc_devices" in names and "hdc_ward_plan_cost_vnd" not in names
    finally:
        c.stop_background()
