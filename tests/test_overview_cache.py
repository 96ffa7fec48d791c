"""The overview kept ready in memory: readers get the kept one, the refresher brings in what changed.

On a real SQLite store with simulated reports, with short intervals so the
refresher's rounds happen within a test.
"""
from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import re
import time
from datetime import datetime, timedelta, timezone

import pytest
from flask import template_rendered

from collector.app import create_app
from collector.context import build_context
from collector.readiness.cache import OverviewCache
from collector.settings import Settings
from collector.simulate import generate_fleet
from collector.store import bodies

SHORT = timedelta(seconds=0.1)


@pytest.fixture
def store(tmp_path):
    context = build_context(Settings(db_url=f"sqlite:///{tmp_path / 'o.sqlite3'}"))
    docs = generate_fleet(context.registry, seed=11)
    for doc in itertools.islice(docs, 30):
        _ingest(context, doc)
    yield context, docs
    context.engine.dispose()


def _ingest(context, doc) -> None:
    text = json.dumps(doc, ensure_ascii=False)
    assert context.ingestor.ingest(doc, text, bodies.split(text)).status == "accepted"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _until(condition, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s")


def test_a_reader_gets_the_kept_overview_and_the_refresher_brings_in_a_new_report(store):
    context, docs = store
    cache = OverviewCache(fresh_for=SHORT, idle_after=timedelta(seconds=30))
    first = cache.get(context, _now())
    assert first.devices == 30

    _ingest(context, next(docs))
    # The read right after the report does not compose: it is the kept overview, object for object.
    assert cache.get(context, _now()) is first
    newer = _until(lambda: (o := cache.get(context, _now())).devices == 31 and o)
    assert newer.now > first.now
    assert cache.refreshing


def test_a_consistent_read_includes_what_was_just_stored_and_is_kept_for_the_others(store):
    context, docs = store
    cache = OverviewCache(fresh_for=timedelta(seconds=30), idle_after=timedelta(seconds=30))
    first = cache.get(context, _now())
    assert cache.get(context, _now(), consistent=True) is first  # nothing stored since
    _ingest(context, next(docs))
    fresh = cache.get(context, _now(), consistent=True)
    assert (first.devices, fresh.devices) == (30, 31)
    assert cache.get(context, _now()) is fresh


def test_an_unchanged_store_is_not_composed_again_until_half_the_maximum_age(store):
    context, _ = store
    cache = OverviewCache(fresh_for=SHORT, max_age=timedelta(seconds=60), idle_after=timedelta(seconds=30))
    first = cache.get(context, _now())
    time.sleep(1.0)  # about ten rounds of the refresher
    assert cache.get(context, _now()) is first


def test_time_alone_recomposes_and_no_reader_gets_an_overview_older_than_the_maximum_age(store):
    context, _ = store
    cache = OverviewCache(fresh_for=SHORT, max_age=timedelta(seconds=1), idle_after=timedelta(seconds=30))
    first = cache.get(context, _now())
    ages, seen = [], {id(first)}
    until = time.monotonic() + 2.5
    while time.monotonic() < until:
        now = _now()
        overview = cache.get(context, now)
        ages.append(now - overview.now)
        seen.add(id(overview))
        time.sleep(0.02)
    assert len(seen) >= 3  # recomposed about every half second with nothing stored
    assert max(ages) < timedelta(seconds=1)


def test_the_refresher_stops_when_nobody_reads_and_starts_again_with_the_next_reader(store):
    context, _ = store
    cache = OverviewCache(fresh_for=SHORT, idle_after=timedelta(seconds=0.3))
    cache.get(context, _now())
    assert cache.refreshing
    _until(lambda: not cache.refreshing, 5)
    cache.get(context, _now())
    assert cache.refreshing


def test_a_server_keeps_refreshing_without_readers_until_stopped(store):
    context, docs = store
    cache = OverviewCache(fresh_for=SHORT, idle_after=timedelta(seconds=0.2))
    cache.warm(context)
    cache.keep_fresh(context, for_good=True)
    time.sleep(0.6)
    assert cache.refreshing
    _ingest(context, next(docs))
    _until(lambda: cache.get(context, _now()).devices == 31)
    cache.stop()
    assert not cache.refreshing
    last = cache.get(context, _now())
    _ingest(context, next(docs))
    time.sleep(0.5)
    assert not cache.refreshing and cache.get(context, _now()) is last


def test_a_store_failure_keeps_the_last_overview_and_is_logged(store, caplog):
    context, docs = store
    cache = OverviewCache(fresh_for=SHORT, idle_after=timedelta(seconds=30))
    first = cache.get(context, _now())
    with context.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE devices RENAME TO devices_away")
    caplog.set_level(logging.WARNING, logger="collector.readiness.cache")

    def logged(text: str) -> list:
        return [r for r in caplog.records if text in r.getMessage()]

    _until(lambda: logged("refreshing the readiness overview failed"))
    time.sleep(0.5)  # five more failing rounds: still one entry for the outage
    assert len(logged("refreshing the readiness overview failed")) == 1
    assert cache.get(context, _now()) is first and cache.refreshing
    with context.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE devices_away RENAME TO devices")
    _ingest(context, next(docs))
    _until(lambda: cache.get(context, _now()).devices == 31)
    # The refresher logs the recovery just after it stores the new overview.
    _until(lambda: logged("works again"))


def _page_devices(client) -> tuple[bytes, int]:
    page = client.get("/")
    assert page.status_code == 200
    return page.data, sum(int(n.replace(".", "")) for n in re.findall(r'data-col="devices">([\d.]+)<', page.text))


def test_the_page_is_rendered_once_per_composition_and_address(store):
    context, docs = store
    app = create_app(context=dataclasses.replace(
        context, overview_cache=OverviewCache(fresh_for=SHORT, idle_after=timedelta(seconds=30))))
    client = app.test_client()
    rendered: list[str] = []
    template_rendered.connect(lambda _app, template, context: rendered.append(template.name), app, weak=False)
    first, devices = _page_devices(client)
    assert devices == 30
    assert _page_devices(client)[0] == first and rendered == ["index.html"]
    assert b'lang="en"' in client.get("/?lang=en").data and b'lang="vi"' in client.get("/").data
    assert rendered == ["index.html", "index.html"]
    _ingest(context, next(docs))
    later, devices = _until(lambda: (p := _page_devices(client))[1] == 31 and p)
    assert later != first and len(rendered) > 2
