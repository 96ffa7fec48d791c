"""One report judged and stored at a time per process, however many requests are in flight (Context.ingest_turn).

The thread holding SQLite's write lock must not wait for the GIL while
another thread of its process parses a report; processes give the
parallelism. Checked on a real waitress server with 8 threads.
"""
from __future__ import annotations

import copy
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from collector.app import create_app
from collector.http.server import Server
from collector.settings import Rate, RateLimits, Settings
from collector.store.tokens import create_token

from support.reports import windows_pc


class _Overlap:
    """The most calls of a function that were running at once."""

    def __init__(self) -> None:
        self.now = self.most = 0
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def __exit__(self, *exc) -> None:
        with self._lock:
            self.now -= 1


def test_reports_in_flight_together_are_stored_one_at_a_time(tmp_path):
    off = Rate.parse("0")
    app = create_app(Settings(db_url=f"sqlite:///{tmp_path / 'store.sqlite3'}", rate_limits=RateLimits(off, off)))
    context = app.extensions["hdc"]
    with context.engine.begin() as conn:
        token = create_token(conn, "00070", "turn test")
    requests_in_flight, stores_at_once = _Overlap(), _Overlap()
    app.before_request(lambda: requests_in_flight.__enter__())
    app.teardown_request(lambda _exc: requests_in_flight.__exit__())
    store = context.ingestor.ingest

    def slow_store(*args, **kwargs):
        with stores_at_once:
            time.sleep(0.02)  # long enough for the other threads' requests to arrive meanwhile
            return store(*args, **kwargs)

    context.ingestor.ingest = slow_store
    server = Server(app, "127.0.0.1", 0, threads=8)
    server.start_in_background()
    try:
        def post(i: int) -> int:
            doc = copy.deepcopy(windows_pc(device=f"dev-{i}"))
            doc["report_id"] = str(uuid.uuid4())
            return requests.post(server.url + "/api/v1/reports", json=doc, timeout=60,
                                 headers={"Authorization": f"Bearer {token}"}).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(post, range(24)))
    finally:
        server.close()
        context.engine.dispose()
    assert statuses == [201] * 24
    assert requests_in_flight.most > 1, "the test never had two requests in flight: it proves nothing"
    assert stores_at_once.most == 1
