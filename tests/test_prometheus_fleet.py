"""The 126-unit simulated fleet through a real collector and Debian's real Prometheus.

One collector is loaded over HTTP with the simulated fleet while a
Prometheus on a free loopback port scrapes it and evaluates the rule files.
Then every dashboard query (with ``$ward`` a real unit code and
``$__rate_interval`` a real window) and every recording rule is run through
Prometheus's HTTP API and must return data, and city totals must equal the
sum over units and the collector's own JSON API.
"""
from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
import yaml

from inventory.plan import load_actions
from inventory.win11 import ELIGIBILITIES

from conftest import ROOT, cli, free_port, need, start_collector, stop
from support.exposition import promtool_check

pytestmark = [pytest.mark.integration, pytest.mark.long]

SCRAPE_SECONDS = 2
RATE_INTERVAL = "10s"  # what Grafana's $__rate_interval is for a 2 s scrape: at least four scrapes
RULE_FILES = sorted((ROOT / "dashboards" / "alerts").glob("*.yml"))
BOARDS = sorted((ROOT / "dashboards" / "generated").glob("*.json"))


@dataclass
class Fleet:
    collector_url: str
    db_url: str
    prometheus: str
    loaded_from: float
    units: list[dict[str, Any]]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """``expr`` at a moment when the collector's recent scrapes all succeeded.

        On a loaded machine a 2-s scrape can time out; Prometheus then marks
        every series of the target stale at once, and the rules evaluated
        meanwhile record nothing: an instant query would find no data that
        the operator's Prometheus (1-minute scrapes) would have. Both
        queries are evaluated at the same moment ``at``.
        """
        deadline = time.monotonic() + 60
        while True:
            at = time.time()
            healthy = _api(self.prometheus, "query", {"query": f"min_over_time(up[{4 * SCRAPE_SECONDS}s])",
                                                      "time": at})
            if healthy and all(float(s["value"][1]) == 1 for s in healthy):
                return _api(self.prometheus, "query", {"query": expr, "time": at})
            assert time.monotonic() < deadline, "no run of successful scrapes of the collector within 60 s"
            time.sleep(SCRAPE_SECONDS)

    def query_range(self, expr: str) -> list[dict[str, Any]]:
        return _api(self.prometheus, "query_range", {"query": expr, "start": self.loaded_from, "end": time.time(),
                                                      "step": SCRAPE_SECONDS})

    def scalar(self, expr: str) -> float:
        (sample,) = self.query(expr)
        return float(sample["value"][1])

    def by(self, expr: str, label: str) -> dict[str, float]:
        return {s["metric"][label]: float(s["value"][1]) for s in self.query(expr)}


def _api(base: str, endpoint: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    answer = requests.post(f"{base}/api/v1/{endpoint}", data=params, timeout=30)
    body = answer.json()
    assert answer.status_code == 200 and body["status"] == "success", (params, body)
    return body["data"]["result"]


def _prometheus_config(tmp: Path, target: str) -> Path:
    """Scrape config and rule files as an operator would write them, with a test's short intervals."""
    rules = []
    for path in RULE_FILES:
        copy = tmp / path.name
        copy.write_text(path.read_text("utf-8").replace("interval: 1m", f"interval: {SCRAPE_SECONDS}s"), "utf-8")
        rules.append(str(copy))
    config = {"global": {"scrape_interval": f"{SCRAPE_SECONDS}s", "scrape_timeout": f"{SCRAPE_SECONDS}s",
                         "evaluation_interval": f"{SCRAPE_SECONDS}s"},
              "rule_files": rules,
              "scrape_configs": [{"job_name": "hdc-collector", "static_configs": [{"targets": [target]}]}]}
    path = tmp / "prometheus.yml"
    path.write_text(yaml.safe_dump(config), "utf-8")
    done = subprocess.run(["promtool", "check", "config", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return path


def _start_prometheus(tmp: Path, config: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prometheus exited: {proc.stdout.read()}")
        try:
            if requests.get(url + "/-/ready", timeout=1).status_code == 200:
                return proc, url
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    stop(proc)
    raise RuntimeError("prometheus did not become ready within 60 s")


def _wait_until(condition, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory) -> Iterator[Fleet]:
    need(shutil.which("prometheus") is not None and shutil.which("promtool") is not None,
         "prometheus/promtool not installed (Debian package 'prometheus')")
    tmp = tmp_path_factory.mktemp("fleet")
    db_url = f"sqlite:///{tmp / 'store.sqlite3'}"
    collector = start_collector(db_url)
    prometheus = None
    try:
        config = _prometheus_config(tmp, collector.url.removeprefix("http://"))
        prometheus, prom_url = _start_prometheus(tmp, config)
        loaded_from = time.time()
        done = cli("collector.cli", "simulate", "--url", collector.url, "--db", db_url, "--mode", "snapshot",
                   timeout=300)
        assert done.returncode == 0, done.stderr
        units = requests.get(collector.url + "/api/v1/wards?limit=1000", timeout=30).json()["units"]
        f = Fleet(collector.url, db_url, prom_url, loaded_from, units)
        total = sum(u["devices"] for u in units)
        # A scrape after the load, then a rule evaluation after that scrape.
        _wait_until(lambda: f.query("sum(hdc_devices)") and f.scalar("sum(hdc_devices)") == total, "a full scrape")
        # The registers are imported after the reports: a scrape that has them too.
        registered = sum(1 for u in units if u["coverage"]["ratio"] is not None)
        _wait_until(lambda: f.query("count(hdc_ward_coverage_ratio)")
                    and f.scalar("count(hdc_ward_coverage_ratio)") == registered, "the registers' coverage")
        _wait_until(lambda: f.query("sum(ward:hdc_devices:sum)") and f.scalar("sum(ward:hdc_devices:sum)") == total,
                    "the recording rules")
        yield f
    finally:
        if prometheus is not None:
            stop(prometheus)
        stop(collector.proc)


def _ward(fleet: Fleet) -> str:
    """A real unit with devices and with devices failing something, so every ward panel has data to show."""
    return next(u["code"] for u in fleet.units if u["devices"] and u["verdicts"]["not_ready"])


def _panel_queries() -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for path in BOARDS:
        board = json.loads(path.read_text("utf-8"))
        for panel in board["panels"]:
            for target in panel["targets"]:
                out.append((board["uid"], f'{panel["id"]}{target["refId"]}', panel["title"], target))
    return out


@pytest.mark.parametrize("uid, ref, title, target", _panel_queries(),
                         ids=[f"{uid}-{ref}" for uid, ref, _, _ in _panel_queries()])
def test_every_panel_query_returns_data(fleet, uid, ref, title, target):
    expr = target["expr"].replace("$__rate_interval", RATE_INTERVAL).replace("$ward", _ward(fleet))
    assert "$" not in expr, expr
    deadline = time.monotonic() + 60
    while True:
        if target["instant"]:
            values = [s["value"][1] for s in fleet.query(expr)]
        else:
            values = [v for s in fleet.query_range(expr) for _, v in s["values"]]
        if any(math.isfinite(float(v)) for v in values) or time.monotonic() > deadline:
            break
        # Seen in 1 of 3 CI runs for the coverage panel alone: its series absent from Prometheus for a while
        # after the fixture had seen them, then back; asked again for up to a minute, and said when it fails.
        time.sleep(SCRAPE_SECONDS)
    assert any(math.isfinite(float(v)) for v in values), (uid, title, expr, values[:5], _operands(fleet, expr))


def _operands(fleet: Fleet, expr: str) -> dict[str, Any]:
    """What each metric of a query that found nothing holds now, and since the load: why a panel is empty."""
    names = sorted(set(re.findall(r"\b(hdc_[a-z_]+|[a-z]+:hdc_[a-z_]+:[a-z_]+)\b", expr)))
    return {n: (len(fleet.query(n)), [v for s in fleet.query_range(f"count({n})") for _, v in s["values"]][-10:])
            for n in names}


def test_ward_variable_lists_every_unit_by_name(fleet):
    """Grafana runs query_result(...) as an instant query, prints each series, and applies the regex."""
    board = json.loads((ROOT / "dashboards/generated/hdc-ward.json").read_text("utf-8"))
    variable = next(v for v in board["templating"]["list"] if v["name"] == "ward")
    inner = re.fullmatch(r"query_result\((.*)\)", variable["query"]["query"])[1]
    regex = re.compile(variable["regex"].strip("/").replace("(?<", "(?P<"))
    options = {}
    for s in fleet.query(inner):
        printed = "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(s["metric"].items())) + "} " + s["value"][1]
        m = regex.search(printed)
        options[m["value"]] = m["text"]
    assert options == {u["code"]: u["name"] for u in fleet.units}
    assert len(options) == 126


@pytest.mark.parametrize("rule", [r for f in RULE_FILES for g in yaml.safe_load(f.read_text("utf-8"))["groups"]
                                  for r in g["rules"] if "record" in r], ids=lambda r: r["record"])
def test_every_recording_rule_returns_data(fleet, rule):
    direct = fleet.query(rule["expr"])
    recorded = fleet.query(rule["record"])
    assert direct and any(math.isfinite(float(s["value"][1])) for s in direct), rule["record"]
    assert len(recorded) == len(direct), rule["record"]


def test_prometheus_evaluates_every_rule_without_error(fleet):
    groups = requests.get(fleet.prometheus + "/api/v1/rules", timeout=30).json()["data"]["groups"]
    rules = [r for g in groups for r in g["rules"]]
    assert len(rules) == sum(len(g["rules"]) for f in RULE_FILES for g in yaml.safe_load(f.read_text())["groups"])
    assert all(r["health"] == "ok" and not r.get("lastError") for r in rules), [
        (r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"]


def test_past_milestone_alert_picks_exactly_the_units_not_ready(fleet):
    """The alert waits an hour before firing; pending already, it names every unit below 100% and no other."""
    hanoi_today = (datetime.now(timezone.utc) + timedelta(hours=7)).date()
    due = next(m for m in requests.get(fleet.collector_url + "/api/v1/wards?limit=1", timeout=30).json()["milestones"]
               if m["id"] == "equipment_upgraded")
    expected = set()
    if hanoi_today.isoformat() > due["date"]:
        expected = {u["code"] for u in fleet.units if u["readiness_ratio"] < 1}
        assert expected  # the simulated fleet has late units

    def pending() -> set[str]:
        alerts = requests.get(fleet.prometheus + "/api/v1/alerts", timeout=30).json()["data"]["alerts"]
        return {a["labels"]["ward"] for a in alerts if a["labels"]["alertname"] == "HdcWardNotReadyPastMilestone"}

    _wait_until(lambda: pending() == expected, "the alert to settle on the loaded fleet", seconds=30)


def test_city_totals_equal_the_sum_over_units(fleet):
    api_total = sum(u["devices"] for u in fleet.units)
    per_ward = fleet.by("sum by (ward) (hdc_devices)", "ward")
    assert set(per_ward) == {u["code"] for u in fleet.units}
    assert fleet.scalar("sum(hdc_devices)") == sum(per_ward.values()) == api_total
    assert fleet.scalar("sum(hdc_class_devices)") == api_total
    assert fleet.scalar("sum(ward:hdc_devices:sum)") == fleet.scalar("sum(verdict:hdc_devices:sum)") == api_total
    for verdict, n in fleet.by("sum by (verdict) (hdc_devices)", "verdict").items():
        assert n == sum(u["verdicts"][verdict] for u in fleet.units), verdict
    assert fleet.scalar("sum(hdc_units)") == fleet.scalar("count(hdc_ward_info)") == 126
    passing = fleet.by('sum by (ward) (hdc_devices{verdict=~"ready|ready_with_conditions"})', "ward")
    assert fleet.scalar("city:hdc_devices_passing:ratio") == pytest.approx(sum(passing.values()) / api_total)
    for metric, label in (("hdc_rule_failures", "rule"), ("hdc_app_devices", "app")):
        city = fleet.by(f"sum by ({label}) ({metric})", label)
        wards = fleet.query(metric)
        assert sum(city.values()) == sum(float(s["value"][1]) for s in wards) > 0
        for key, n in city.items():
            assert n == sum(float(s["value"][1]) for s in wards if s["metric"][label] == key), key
    reach = fleet.by("target:hdc_endpoint_reachable_devices:ratio", "target")
    for target, ratio in reach.items():
        ok = fleet.scalar(f'sum(hdc_endpoint_reachable_devices{{target="{target}"}})')
        checked = fleet.scalar(f'sum(hdc_endpoint_checked_devices{{target="{target}"}})')
        assert ratio == pytest.approx(ok / checked), target


def test_series_count_with_per_device_metrics_on_and_off(fleet):
    """Off, the count is fixed by units x label values; on, it grows by exactly one series per active device."""
    on = start_collector(fleet.db_url, "--per-device-metrics")
    try:
        with_devices = requests.get(on.url + "/metrics", timeout=60).text
    finally:
        stop(on.proc)
    without = requests.get(fleet.collector_url + "/metrics", timeout=60).text
    promtool_check(without)
    promtool_check(with_devices)
    count_off, count_on = _store_series(without), _store_series(with_devices)
    active = sum(u["devices"] for u in fleet.units)
    wards, verdicts, classes, rules, apps, milestones = 126, 4, 12, 17, 20, 5  # classes and rules: PCs and equipment
    reporting = sum(1 for u in fleet.units if u["last_report_at"])
    targets = len(re.findall(r"^hdc_endpoint_checked_devices\{", without, re.M))
    statuses = 6  # ready, not_ready, unknown, incomplete, no_register, no_data
    fixed = (2 + wards * (1 + verdicts + classes * verdicts + 2 + rules + apps + 1) + rules + apps
             + 2 * milestones + statuses + 2)
    # Coverage (the simulated registers): units with a register only, expected and reporting per class listed.
    registered = [u["coverage"] for u in fleet.units if u["coverage"]["ratio"] is not None]
    coverage = sum(1 + 2 * len(c["by_class"]) for c in registered)
    assert 0 < len(registered) < wards
    # hdc_applications (one per unit and app), hdc_ward_applications (5 states), migrated + in use,
    # local applications, contradictions (2 kinds); and the city's local-applications target.
    migration = wards * (apps + 5 + 2 + 1 + 2) + 1
    # OKRs: each shipped key result's progress, value, target, due day and four pace statuses; the work items
    # of each milestone by state and unit.
    key_results = 7
    okr = key_results * (4 + 4) + milestones * 4 * wards
    # Connect times and failed steps exist only where schema-v2 checks measured them: units x endpoints (x steps).
    measured = sum(len(re.findall(rf"^{family}\{{", without, re.M))
                   for family in ("hdc_endpoint_connect_seconds", "hdc_endpoint_failed_devices"))
    # The upgrade plan: each unit's cost by action and devices by Windows 11 eligibility, zeros included; a
    # forecast readiness day only where the unit's pace gives one.
    forecasts = len(re.findall(r"^hdc_ward_forecast_ready_timestamp_seconds\{", without, re.M))
    plan = wards * (len(load_actions().actions) + len(ELIGIBILITIES)) + forecasts
    # Each unit's days overdue; the day it became ready only for a ready unit.
    dates = wards + len(re.findall(r"^hdc_ward_ready_since_timestamp_seconds\{", without, re.M))
    assert count_off == fixed + migration + okr + reporting + 2 * targets + measured + coverage + plan + dates
    assert measured <= targets * (1 + 5)
    assert targets <= wards * (3 + 11)  # three HDC endpoints, plus those of the applications a unit migrates
    assert count_on - count_off == active > 3000
    print(f"\n/metrics series for {wards} units, {active} active devices: "
          f"{count_off} per-device off, {count_on} on")


def _store_series(text: str) -> int:
    """Series of the store's families (the ingest counters differ between two processes, not in number)."""
    return sum(1 for line in text.splitlines() if line.startswith("hdc_") and not line.startswith("hdc_ingest_"))
