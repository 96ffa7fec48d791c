"""The readiness page in a real browser: Debian's Chromium, headless, against a real collector process.

The page has no script: following a link or submitting the GET form is
loading a URL, so each step loads the URL the previous page offers (taken
from the DOM Chromium built) and reads what Chromium rendered. Screenshots
at desktop and phone widths and an A4 PDF are kept under test-artifacts/ for
people to look at.
"""
from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from conftest import ROOT, need, start_collector, stop
from support.fleet import number, parse, ranking

pytestmark = pytest.mark.integration
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--lang=vi")


@pytest.fixture(scope="module")
def served(fleet):
    need(CHROMIUM is not None, "Chromium not installed (Debian package 'chromium')")
    collector = start_collector(fleet.db_url)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        yield collector.url
    finally:
        stop(collector.proc)


def _chromium(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "profile"
    # Console messages go to stderr, where the page's CSP violations would show (test_security_headers
    # proves this catches one).
    done = subprocess.run([CHROMIUM, *FLAGS, "--enable-logging=stderr", "--v=0", f"--user-data-dir={profile}",
                           *args, url], capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    violations = [line for line in done.stderr.splitlines() if "Content Security Policy" in line]
    assert not violations, violations[:3]
    return done


def _dom(tmp_path: Path, url: str):
    return parse(_chromium(tmp_path, url, "--dump-dom").stdout)


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_overview_language_filter_sort_unit_and_csv(served, tmp_path):
    page = _dom(tmp_path, served + "/")
    assert page.find("html").attrs["lang"] == "vi"
    assert page.find("h1").text() == "Mức độ sẵn sàng hạ tầng của 126 xã, phường"
    api = requests.get(served + "/api/v1/wards", timeout=30).json()["units"]
    rows = ranking(page)
    assert len(rows) == 126
    assert all(rows[u["code"]]["not_ready"] == u["verdicts"]["not_ready"] for u in api)
    ready = number(page.find(id="units-ready").find("span").text().split("/")[0])
    assert ready == sum(u["status"] == "ready" for u in api)

    english = _dom(tmp_path, served + page.find("a", id="lang-switch").attrs["href"])
    assert english.find("h1").text() == "Infrastructure readiness of the 126 communes and wards"

    form = page.find("form", role="search")
    found = _dom(tmp_path, served + form.attrs["action"] + "?q=" + quote("hoan kiem"))
    assert list(ranking(found)) == ["00070"]
    assert "Phường Hoàn Kiếm" in found.find("table", id="units").text()

    by_devices = _dom(tmp_path, served + page.find("a", data_sort="devices").attrs["href"])
    counts = [r["devices"] for r in ranking(by_devices).values()]
    assert counts == sorted(counts, reverse=True)

    first = page.find("table", id="units").find("td", **{"class": "name"}).find("a")
    unit = _dom(tmp_path, served + first.attrs["href"])
    assert unit.find("h1").text().startswith(first.text())
    assert unit.find("svg", id="trend").find_all("polyline", data_points=True)

    csv_href = page.find("a", id="export-csv").attrs["href"]
    download = requests.get(served + csv_href, timeout=30)
    assert download.headers["Content-Disposition"].startswith("attachment")
    lines = download.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 127 and lines[0].startswith("Mã,Đơn vị")


@pytest.mark.parametrize("name, path, width", [
    ("overview-desktop", "/", 1280), ("overview-phone", "/", 390),
    ("unit-desktop", "/units/00070", 1280), ("unit-phone", "/units/00070?lang=en", 390),
    ("okr-desktop", "/okr", 1280), ("okr-phone", "/okr?lang=en", 390)])
def test_screenshots_at_desktop_and_phone_widths(served, tmp_path, name, path, width):
    target = ARTIFACTS / f"{name}.png"
    target.unlink(missing_ok=True)
    _chromium(tmp_path, served + path, f"--window-size={width},2200", f"--screenshot={target}")
    assert _png_size(target) == (width, 2200)
    assert target.stat().st_size > 20_000, "a rendered page, not a blank one"


def test_overview_prints_on_a4(served, tmp_path):
    target = ARTIFACTS / "overview-a4.pdf"
    target.unlink(missing_ok=True)
    _chromium(tmp_path, served + "/", "--no-pdf-header-footer", f"--print-to-pdf={target}")
    pdf = target.read_bytes()
    assert pdf.startswith(b"%PDF")
    boxes = {tuple(round(float(v)) for v in m) for m in
             re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)}
    assert boxes == {(595, 842)}, f"A4 is 595 x 842 points, got {boxes}"
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 2


def test_okr_page_shows_the_apis_values_and_prints_on_one_a4_page(served, tmp_path):
    api = requests.get(served + "/api/v1/okr", timeout=30).json()
    page = _dom(tmp_path, served + "/okr")
    rows = {tr.attrs["data-key-result"]: tr for tr in page.find_all("tr", data_key_result=True)}
    krs = {k["id"]: k for o in api["objectives"] for k in o["key_results"]}
    assert rows.keys() == krs.keys()
    for kid, k in krs.items():
        assert float(rows[kid].attrs["data-progress"]) == k["progress"]
        assert float(rows[kid].find("progress").attrs["value"]) == k["progress"]
        assert rows[kid].attrs["data-status"] == k["status"]
    counts = page.find("table", id="okr-milestones").find("tr", data_milestone="equipment_upgraded")
    work = next(m["work_items"] for m in api["milestones"] if m["id"] == "equipment_upgraded")
    assert [number(td.text()) for td in counts.find_all("td")] == [work[s] for s in
                                                                    ("done_on_time", "done_late", "in_progress",
                                                                     "overdue")]
    target = ARTIFACTS / "okr-a4.pdf"
    target.unlink(missing_ok=True)
    _chromium(tmp_path, served + "/okr", "--no-pdf-header-footer", f"--print-to-pdf={target}")
    pdf = target.read_bytes()
    assert {tuple(round(float(v)) for v in m) for m in
            re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)} == {(595, 842)}
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1, "the OKR page prints on one A4 page for a meeting"
