"""`hdc-collector demo` for real: one process, this machine's agent, the simulated fleet over HTTP.

Then the page, the JSON API and /metrics must tell the same numbers for every unit.
"""
from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
from html.parser import HTMLParser

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from conftest import ROOT

pytestmark = pytest.mark.integration


class UnitRows(HTMLParser):
    """Reads the units table of the page: ward code -> {column: number}."""

    def __init__(self):
        super().__init__()
        self.rows: dict[str, dict[str, int]] = {}
        self._ward = self._col = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-ward" in a:
            self._ward = a["data-ward"]
            self.rows[self._ward] = {}
        elif tag == "td" and self._ward and "data-col" in a:
            self._col = a["data-col"]

    def handle_data(self, data):
        if self._col:
            self.rows[self._ward][self._col] = int(data.strip().replace(".", ""))
            self._col = None


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    db = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    proc = subprocess.Popen([sys.executable, "-m", "collector.cli", "demo", "--port", "0", "--db", f"sqlite:///{db}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    lines: list[str] = []
    timer = threading.Timer(600, proc.kill)
    timer.start()
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("JSON API:"):
                break
        text = "".join(lines)
        urls = dict(re.findall(r"^(Readiness page|Prometheus metrics)[^:]*:\s+(\S+)$", text, re.M))
        assert set(urls) == {"Readiness page", "Prometheus metrics"}, text + proc.stderr.read()
        yield urls["Readiness page"].rstrip("/"), text, proc
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_demo_prints_urls_and_sends_this_machines_report(demo):
    base, text, _ = demo
    assert "This machine's own report was sent by hdc-agent for unit 00070" in text
    ward = requests.get(base + "/api/v1/wards/00070", timeout=30).json()
    assert socket.gethostname() in {d["hostname"] for d in ward["devices"]}


def test_page_api_and_metrics_agree_for_every_unit(demo):
    base = demo[0]
    api = {u["code"]: u for u in requests.get(base + "/api/v1/wards", timeout=30).json()["units"]}
    assert len(api) == 126
    metrics = requests.get(base + "/metrics", timeout=30).text
    from_metrics: dict[str, dict[str, int]] = {}
    silent: dict[str, int] = {}
    accepted = 0.0
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name == "hdc_devices":
                from_metrics.setdefault(sample.labels["ward"], {})[sample.labels["verdict"]] = int(sample.value)
            elif sample.name == "hdc_silent_devices":
                silent[sample.labels["ward"]] = int(sample.value)
            elif sample.name == "hdc_ingest_reports_total" and sample.labels["result"] == "accepted":
                accepted = sample.value
    page = UnitRows()
    page.feed(requests.get(base + "/", timeout=30).text)

    assert set(from_metrics) == set(page.rows) == set(api)
    total = 0
    for code, unit in api.items():
        for verdict in ("ready", "ready_with_conditions", "not_ready", "unknown"):
            assert unit["verdicts"][verdict] == from_metrics[code][verdict] == page.rows[code][verdict], (code, verdict)
        assert unit["devices"] == page.rows[code]["devices"]
        assert unit["silent_devices"] == page.rows[code]["silent"] == silent[code]
        total += unit["devices"]
    # A realistic fleet: every unit has devices, and every verdict occurs somewhere.
    assert all(u["devices"] >= 10 for u in api.values())
    assert total > 126 * 15
    for verdict in ("ready", "ready_with_conditions", "not_ready", "unknown"):
        assert sum(u["verdicts"][verdict] for u in api.values()) > 0, verdict
    assert accepted > total


def test_demo_stops_cleanly_on_ctrl_c(demo):
    proc = demo[2]
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0
