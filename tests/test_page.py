"""The readiness page on the simulated fleet: languages, the ranking's filters and sorting, charts, drill-down.

Every assertion reads the rendered HTML the way a reader would (the visible
text and numbers), and compares it with the JSON API and /metrics.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from collector.i18n import LANGS, Translator, catalog
from collector.readiness.ranking import STATUS_ORDER
from inventory.registry import fold

from support.fleet import number, parse, ranking

VERDICTS = ("ready", "ready_with_conditions", "not_ready", "unknown")


@pytest.fixture(scope="module")
def client(fleet):
    return fleet.client()


def _page(client, url: str):
    resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code, resp.data[:500])
    return parse(resp.get_data(as_text=True))


def test_catalogs_have_the_same_keys_and_placeholders():
    vi, en = catalog("vi"), catalog("en")
    assert set(vi) == set(en)

    def fields(message) -> set[str]:
        texts = message.values() if isinstance(message, dict) else [message]
        return {f for text in texts for f in re.findall(r"{(\w+)}", text)}

    for key in vi:
        assert fields(vi[key]) == fields(en[key]), key
        assert isinstance(vi[key], dict) == isinstance(en[key], dict), key


def test_formats_follow_the_language():
    from datetime import date, datetime, timezone

    vi, en = Translator("vi"), Translator("en")
    assert vi.number(1234567.8, 1) == "1.234.567,8" and en.number(1234567.8, 1) == "1,234,567.8"
    assert vi.percent(0.8532) == "85%" and vi.percent(0.8532, 1) == "85,3%"
    assert vi.date(date(2025, 11, 30)) == "30/11/2025" == en.date(date(2025, 11, 30))
    # 17:30 UTC is 00:30 the next day in Hanoi.
    assert vi.date(datetime(2025, 11, 30, 17, 30, tzinfo=timezone.utc)) == "01/12/2025 00:30"
    assert en.plural("milestone.days_left", 1) == "1 day left" and en.plural("milestone.days_left", 2) == "2 days left"
    assert vi.plural("milestone.days_over", 1234) == "đã quá hạn 1.234 ngày"


def test_overview_is_vietnamese_and_switches_to_english(client):
    page = _page(client, "/")
    html = page.find("html")
    assert html.attrs["lang"] == "vi"
    assert "Mức độ sẵn sàng hạ tầng của 126 xã, phường" in page.find("h1").text()
    top_rule = page.find("table", id="reasons").find("tbody").find("td").text()
    assert top_rule in {r.title_vi for r in client.application.extensions["hdc"].baseline.all_rules()}
    assert re.search(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}", page.find("p", **{"class": "sub"}).text())

    switch = page.find("a", id="lang-switch")
    assert switch.text() == "English"
    english = _page(client, switch.attrs["href"])
    assert english.find("html").attrs["lang"] == "en"
    assert english.find("h1").text() == "Infrastructure readiness of the 126 communes and wards"
    assert "Mức độ" not in english.find("main").text()
    # Links keep the language: the unit pages and the switch back.
    unit_links = [a.attrs["href"] for a in english.find("table", id="units").find_all("a")]
    assert all("lang=en" in href for href in unit_links if href.startswith("/units/"))
    assert english.find("a", id="lang-switch").text() == "Tiếng Việt"
    assert "lang" not in english.find("a", id="lang-switch").attrs["href"]


@pytest.mark.parametrize("lang", LANGS)
def test_every_page_renders_in_both_languages(client, lang):
    for url in ("/", "/units/00070", "/work-items", "/work-items?milestone=ihanoi_super_app",
                "/?kind=xa&status=not_ready&sort=name&order=desc"):
        page = _page(client, f"{url}{'&' if '?' in url else '?'}lang={lang}")
        assert page.find("html").attrs["lang"] == lang


def test_page_api_metrics_and_headline_agree_for_every_unit(client):
    page = _page(client, "/")
    rows = ranking(page)
    api = {u["code"]: u for u in client.get("/api/v1/wards").get_json()["units"]}
    metrics: dict[str, dict[str, int]] = {}
    silent: dict[str, int] = {}
    for family in text_string_to_metric_families(client.get("/metrics").get_data(as_text=True)):
        for s in family.samples:
            if s.name == "hdc_devices":
                metrics.setdefault(s.labels["ward"], {})[s.labels["verdict"]] = int(s.value)
            elif s.name == "hdc_silent_devices":
                silent[s.labels["ward"]] = int(s.value)
    assert len(rows) == len(api) == len(metrics) == 126
    for code, unit in api.items():
        row = rows[code]
        for v in VERDICTS:
            assert row[v] == unit["verdicts"][v] == metrics[code][v], (code, v)
        assert row["devices"] == unit["devices"] and row["silent"] == unit["silent_devices"] == silent[code]
        assert row["status"] == unit["status"]
        assert row["ratio_pct"] == round(100 * unit["readiness_ratio"])
        assert row["apps_migrated"] == unit["applications"]["migrated"]
        assert row["work_overdue"] == unit["work_items"]["overdue"]

    summary = client.get("/api/v1/summary").get_json()
    ready, of = page.find(id="units-ready").find("span").text().split("/")
    assert (number(ready), number(of)) == (summary["units"]["by_status"]["ready"], 126)
    passing, devices = page.find(id="devices-passing").find("span").text().split("/")
    assert (number(passing), number(devices)) == (summary["devices"]["passing"], summary["devices"]["total"])
    assert summary["devices"]["total"] == sum(u["devices"] for u in api.values())
    migrated, scope = page.find(id="apps-migrated").find("span").text().split("/")
    assert (number(migrated), number(scope)) == (summary["applications"]["migrated"],
                                                 summary["applications"]["in_scope"])
    work = {td.attrs["data-col"]: number(td.text()) for td in page.find(id="work-city").find_all("td")}
    first = summary["milestones"][0]["work_items"]
    assert work == {f"work_{k}": v for k, v in first.items()}
    assert work["work_overdue"] == sum(u["work_items"]["overdue"] for u in api.values())
    for status, card in (("incomplete", "units-incomplete"), ("no_register", "units-no-register"),
                         ("not_ready", "units-not-ready"), ("no_data", "units-no-data")):
        shown = number(page.find(id=card).find("span").text())
        assert shown == summary["units"]["by_status"][status] == sum(u["status"] == status for u in api.values())
    assert {code: row["days_overdue"] for code, row in rows.items()} == {
        code: unit["days_overdue"] for code, unit in api.items()}


def test_legend_says_what_to_do_for_every_status_and_the_threshold(client):
    """The legend under the ranking: each status, worst first, with its colour and what the unit should do."""
    for lang in LANGS:
        t = Translator(lang)
        legend = _page(client, f"/?lang={lang}").find("details", id="status-legend")
        assert [dt.attrs["data-status"] for dt in legend.find_all("dt")] == list(STATUS_ORDER)
        assert [dd.text() for dd in legend.find_all("dd")] == [t(f"status_todo.{s}") for s in STATUS_ORDER]
        assert "100%" in legend.find("p").text()
    incomplete = next(u for u in client.get("/api/v1/wards?status=incomplete").get_json()["units"])
    assert 0 <= incomplete["coverage"]["ratio"] < 1
    unit = _page(client, f"/units/{incomplete['code']}?lang=en")
    assert unit.find(id="unit-status-todo").text().startswith(
        "What to do: Install the agent on the registered machines that do not report.")
    by_class = {tr.attrs["data-class"]: (number(tr.find("td", data_col="expected").text(), "en"),
                                         number(tr.find("td", data_col="reporting").text(), "en"))
                for tr in unit.find("table", id="coverage").find_all("tr", data_class=True)}
    assert by_class == {cls: (c["expected"], c["reporting"]) for cls, c in incomplete["coverage"]["by_class"].items()}


@pytest.mark.parametrize("query", ["hoan kiem", "Hoàn Kiếm", "HOÀN KIẾM", "phuong hoan kiem"])
def test_search_finds_a_unit_with_or_without_diacritics(client, query):
    rows = ranking(_page(client, "/?" + f"q={query}"))
    assert set(rows) == {"00070"}


def test_filters_by_kind_and_status_match_the_api(client):
    for kind in ("phuong", "xa"):
        for status in ("ready", "not_ready"):
            rows = ranking(_page(client, f"/?kind={kind}&status={status}"))
            api = client.get(f"/api/v1/wards?kind={kind}&status={status}").get_json()
            assert set(rows) == {u["code"] for u in api["units"]} and api["total"] == len(rows)
            assert all(r["status"] == status for r in rows.values())
            assert all(u["kind"] == kind for u in api["units"])
    page = _page(client, "/?kind=xa")
    count = page.find("p", id="units-count").text()
    assert count.startswith(f"Đang hiển thị {len(ranking(page))}/126 đơn vị")


def test_sorting_is_server_side_and_links_toggle_the_order(client):
    page = _page(client, "/?sort=devices&order=desc")
    devices = [r["devices"] for r in ranking(page).values()]
    assert devices == sorted(devices, reverse=True) and devices[0] > devices[-1]
    header = page.find("th", aria_sort="descending")
    link = header.find("a").attrs["href"]
    assert parse_qs(urlsplit(link).query) == {"sort": ["devices"], "order": ["asc"]}
    assert [r["devices"] for r in ranking(_page(client, link)).values()] == sorted(devices)

    names = [tr.find("td", **{"class": "name"}).text().split(" ", 1)[1] for tr in
             _page(client, "/?sort=name").find("table", id="units").find_all("tr", data_ward=True)]
    assert [fold(n) for n in names] == sorted(fold(n) for n in names)

    worst_first = list(ranking(_page(client, "/")).values())
    order = {status: rank for rank, status in enumerate(STATUS_ORDER)}
    assert [order[r["status"]] for r in worst_first] == sorted(order[r["status"]] for r in worst_first)


def test_burndown_is_an_svg_with_one_point_per_day_ending_at_todays_count(client):
    page = _page(client, "/")
    svg = page.find("svg", id="burndown")
    assert svg.attrs["role"] == "img" and svg.find("title").text()
    line = svg.find("polyline", **{"class": "series not-ready"})
    points = line.attrs["points"].split()
    history = client.get("/api/v1/history").get_json()
    assert len(points) == int(line.attrs["data-points"]) == len(history["days"])
    assert history["verdicts"]["not_ready"][-1] == sum(
        u["verdicts"]["not_ready"] for u in client.get("/api/v1/wards").get_json()["units"])
    assert svg.find_all("polyline", **{"class": "plan"}), "the plan line toward the deadline"
    assert "30/11/2025" in svg.text()


def test_unit_page_shows_devices_rules_apps_and_reachability(client):
    code = next(u["code"] for u in client.get("/api/v1/wards?status=not_ready").get_json()["units"])
    api = client.get(f"/api/v1/wards/{code}").get_json()
    page = _page(client, f"/units/{code}")
    assert page.find("h1").attrs["data-ward"] == code
    shown = {tr.attrs["data-device"]: tr.attrs["data-verdict"]
             for tr in page.find("table", id="devices").find_all("tr", data_device=True)}
    active = {d["device_id"]: d["verdict"] for d in api["devices"] if not d["silent"]}
    assert shown == active
    failing = next(d for d in api["devices"] if not d["silent"] and d["verdict"] == "not_ready")
    row = page.find("tr", data_device=failing["device_id"]).text()
    hard = next(f for f in failing["failures"] if f["severity"] == "hard" and f["outcome"] == "fail")
    assert hard["message_vi"] in row and "yêu cầu" in row and hard["required"] in row
    apps = {tr.attrs["data-app"]: tr.attrs["data-state"]
            for tr in page.find("table", id="apps").find_all("tr", data_app=True)}
    assert {a["app_id"]: a["state"] for a in api["applications"]}.items() <= apps.items()
    reach = {tr.attrs["data-target"]: tr.text()
             for tr in page.find("table", id="reachability").find_all("tr", data_target=True)}
    assert set(reach) == {r["target"] for r in api["reachability"]}
    trend = page.find("svg", id="trend")
    history = client.get(f"/api/v1/history?ward={code}").get_json()
    lines = trend.find_all("polyline", data_points=True)
    assert [int(p.attrs["data-points"]) for p in lines] == [len(history["days"])] * 3
    cells = {td.attrs["data-col"]: number(td.text()) for td in page.find("table", id="unit-work").find_all("td")}
    assert cells == {f"work_{k}": v for k, v in api["unit"]["work_items"].items()}


def test_unknown_unit_is_a_page_not_a_crash(client):
    resp = client.get("/units/99999")
    assert resp.status_code == 404 and resp.mimetype == "text/html"
    assert "99999" in parse(resp.get_data(as_text=True)).find("main").text()


def test_page_is_self_contained_read_only_and_escaped(client):
    resp = client.get('/?q=<script>alert(1)</script>"')
    html = resp.get_data(as_text=True)
    assert "<script" not in html and "&lt;script&gt;" in html
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp and "script-src" not in csp
    page = parse(html)
    assert not [n for n in page.iter() if "style" in n.attrs or n.tag in ("script", "iframe", "img")]
    refs = [n.attrs.get("href") or n.attrs.get("src") or n.attrs.get("action") for n in page.iter()
            if n.tag in ("a", "link", "form") and (n.attrs.get("href") or n.attrs.get("action"))]
    assert refs and all(r.startswith(("/", "#")) for r in refs), [r for r in refs if not r.startswith(("/", "#"))]
    assert all(f.attrs.get("method") == "get" for f in page.find_all("form"))
    labels = {label.attrs["for"] for label in page.find_all("label")}
    assert {i.attrs["id"] for i in page.find_all("input") + page.find_all("select")
            if i.attrs.get("type") != "hidden"} <= labels
    assert client.post("/").status_code == 405


def test_translations_ship_with_the_package():
    """The catalogs are data files: the wheel carries them only if package-data names them."""
    from pathlib import Path

    import tomllib

    root = Path(__file__).resolve().parents[1]
    data = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["collector"]
    assert "translations/*" in data
    for lang in LANGS:
        assert yaml.safe_load((root / "collector" / "translations" / f"{lang}.yaml").read_text("utf-8"))
