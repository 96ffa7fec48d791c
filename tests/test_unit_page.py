"""A unit's page lists its devices a page at a time, worst first, as the whole list (the API's) orders them."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from collector.app import create_app
from collector.http import page as page_view
from collector.settings import Settings
from collector.store import queries

from support.fleet import parse
from support.reports import modern_pc

UNIT = "00070"
NOW = datetime.now(timezone.utc).replace(microsecond=0)
# Reports before the first milestone (30/11/2025), so that failing devices are its work items, kept active
# until now by a stale age that long; the silent devices' are older still.
REPORTED, SILENT_SINCE = datetime(2025, 11, 10, 3, tzinfo=timezone.utc), datetime(2023, 1, 10, tzinfo=timezone.utc)
SETTINGS = {"stale_after_days": (NOW - REPORTED).days + 30}
# Host names whose order differs between Python (code points) and a locale's collation: case, digits, marks.
HOSTS = ("pc-b", "PC-A", "pc-a", "pc_2", "pc-10", "Pc-9", "máy-1", "MAY-2", "pc-b")
KINDS = ("ready", "not_ready", "unknown")


def _doc(i: int, host: str, at: datetime) -> dict:
    kind = KINDS[i % 3]
    doc = modern_pc(f"unit-page-{i}", UNIT, at - timedelta(minutes=i), 4 if kind == "not_ready" else 16, [])
    doc["device"]["hostname"] = host
    if kind == "unknown":
        doc["firmware"]["tpm"] = {"present": "unknown", "spec_version": None}
    return doc


def _worst_first(found: list[dict]) -> list[dict]:
    """The order the page showed before it paged: verdict needing most work first, then host name."""
    return sorted(found, key=lambda d: (queries.VERDICT_RANK[d["verdict"]], d["hostname"], d["device_id"]))


def test_pages_of_devices_are_the_whole_list_in_order_and_the_page_links_walk_them(ingestor, db_url, monkeypatch):
    for i, host in enumerate(HOSTS):
        ingestor.ingest(_doc(i, host, REPORTED), "{}")
    for i, host in enumerate(("old-1", "OLD-0"), start=len(HOSTS)):
        ingestor.ingest(_doc(i, host, SILENT_SINCE), "{}")
    since = Settings(db_url=db_url, **SETTINGS).active_since(NOW)
    with ingestor.engine.connect() as conn:
        everything = queries.devices_of_unit(conn, UNIT, since)
        pages = [queries.device_page(conn, UNIT, since, n, 4) for n in (1, 2, 3)]
        beyond, before = queries.device_page(conn, UNIT, since, 99, 4), queries.device_page(conn, UNIT, since, 0, 4)
        silent_pages = [queries.device_page(conn, UNIT, since, n, 1, silent=True) for n in (1, 2)]
    active = _worst_first([d for d in everything if not d["silent"]])
    assert [d for p in pages for d in p.rows] == active  # failures included: read for the shown rows
    assert {d["verdict"] for d in active} == set(KINDS) and any(d["failures"] for d in active)
    assert [(p.number, p.pages, p.total, len(p.rows)) for p in pages] == [(1, 3, 9, 4), (2, 3, 9, 4), (3, 3, 9, 1)]
    assert (beyond.number, beyond.rows) == (3, pages[2].rows)  # past the end: the last page
    assert (before.number, before.rows) == (1, pages[0].rows)
    silent = [{k: v for k, v in d.items() if k != "failures"} for d in everything if d["silent"]]
    assert [d for p in silent_pages for d in p.rows] == sorted(silent, key=lambda d: d["hostname"])
    assert [(p.total, p.pages) for p in silent_pages] == [(2, 2)] * 2

    if db_url.startswith("postgresql"):
        return  # the page's markup is the same on both backends; the order above is what differs
    monkeypatch.setattr(page_view, "ROWS_PER_PAGE", 2)
    client = create_app(Settings(db_url=db_url, **SETTINGS)).test_client()
    api = client.get(f"/api/v1/wards/{UNIT}").get_json()
    assert len(api["devices"]) == 11 and len(api["work_items"]["items"]) == 4  # the API still lists them all

    def walk(url: str, table: str, nav: str) -> tuple[list[str], list[tuple[str, str]]]:
        """Follow a list's "next page" links from ``url``: the rows' devices and each page's number and total."""
        shown, seen = [], []
        while url:
            html = parse(client.get(url).get_data(as_text=True))
            shown += [tr.attrs["data-device"] for tr in html.find("table", id=table).find_all("tr", data_device=True)]
            pager = html.find("nav", id=nav)
            seen.append((pager.attrs["data-page"], pager.attrs["data-total"]))
            assert "Trang" in pager.text() and f"trong tổng số {pager.attrs['data-total']}" in pager.text()
            following = pager.find_all("a", rel="next")
            url = following[0].attrs["href"] if following else ""
            assert not following or "Trang sau" in following[0].text()
            assert int(pager.attrs["data-page"]) == 1 or "Trang trước" in pager.find("a", rel="prev").text()
        return shown, seen

    shown, seen = walk(f"/units/{UNIT}", "devices", "devices-pager")
    assert shown == [d["device_id"] for d in active]
    assert seen == [(str(n), "9") for n in range(1, 6)]
    shown, seen = walk(f"/units/{UNIT}?page=2", "unit-work-items", "items-pager")  # each list keeps its own page
    assert shown == [i["device_id"] for i in api["work_items"]["items"]] and seen == [("1", "4"), ("2", "4")]
    second = parse(client.get(f"/units/{UNIT}?items_page=2&page=3").get_data(as_text=True))
    assert second.find("nav", id="devices-pager").attrs["data-page"] == "3"
    assert "open" in second.find("details", id="work-items").attrs
    assert not second.find_all("nav", id="silent-pager")  # two silent devices: one page, no links
    english = parse(client.get(f"/units/{UNIT}?lang=en&page=2").get_data(as_text=True)).find("nav", id="devices-pager")
    assert "Page 2 of 5" in english.text() and "lang=en" in english.find("a", rel="next").attrs["href"]
    for odd in ("abc", "-1", "0", "1" * 40):  # a link cut short or edited opens the first page, never an error
        response = client.get(f"/units/{UNIT}?page={odd}")
        assert response.status_code == 200 and parse(response.get_data(as_text=True)).find(
            "nav", id="devices-pager").attrs["data-page"] == "1", odd
