"""Server-side render time of the readiness page for the 126-unit simulated fleet (target: overview < 100 ms).

Run: python bench/page.py [--db URL] [--runs N]

Without --db it stores the full simulated fleet (first reports since 09/2025,
upgrades, current reports; 15-40 devices per unit) in a fresh SQLite file
through the collector's own Ingestor, as `hdc-collector demo` does over HTTP.
With --db it measures an existing store (a demo's, or PostgreSQL).

Figures, each the median of --runs requests through the Flask app (no
network): the overview with its figures composed from the store ("cold":
what the first reader after a new report waits for) and reused ("warm":
every other reader, see overview.OverviewCache), a unit's page, and the
parts of the cold figure. No peer renders this page, so there is none to
compare with.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable


def _median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def load_fleet(db_url: str) -> int:
    from collector.app import build_context
    from collector.settings import Settings
    from collector.simulate import generate_changes

    context = build_context(Settings(db_url=db_url))
    n = 0
    for doc in generate_changes(context.registry):
        context.ingestor.ingest(doc, json.dumps(doc, ensure_ascii=False))
        n += 1
    context.engine.dispose()
    return n


def measure(db_url: str, runs: int) -> dict[str, float]:
    from collector import queries
    from collector.app import create_app
    from collector.apps import installed_by_ward
    from collector.history import load_lives
    from collector.settings import Settings

    app = create_app(Settings(db_url=db_url))
    client = app.test_client()
    c = app.extensions["hdc"]

    def get(url: str, fresh: bool) -> None:
        if fresh:
            app.extensions.pop("hdc.overview_cache", None)
        assert client.get(url).status_code == 200

    now = datetime.now(timezone.utc)
    since = c.settings.active_since(now)
    with c.engine.connect() as conn:
        devices = sum(s.devices for s in queries.ward_summaries(conn, c.registry, since))
        figures = {"units": len(c.registry), "active devices": devices,
                   "overview cold (ms)": _median_ms(lambda: get("/", True), runs),
                   "overview warm (ms)": _median_ms(lambda: get("/", False), runs),
                   "overview English warm (ms)": _median_ms(lambda: get("/?lang=en", False), runs),
                   "unit page (ms)": _median_ms(lambda: get("/units/00070", False), runs),
                   "  of cold: queries.ward_summaries (ms)":
                       _median_ms(lambda: queries.ward_summaries(conn, c.registry, since), runs),
                   "  of cold: applications by unit (ms)": _median_ms(lambda: installed_by_ward(conn, since), runs),
                   "  of cold: device lifetimes for history (ms)":
                       _median_ms(lambda: load_lives(conn, now, since), runs)}
    c.engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="measure this store instead of a freshly loaded simulated fleet")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    db_url = args.db
    if db_url is None:
        db_url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='hdc-bench-page-')) / 'fleet.sqlite3'}"
        start = time.perf_counter()
        n = load_fleet(db_url)
        print(f"loaded {n} simulated reports in {time.perf_counter() - start:.0f} s into {db_url}")
    for name, value in measure(db_url, args.runs).items():
        print(f"{name:48} {value:10.1f}" if isinstance(value, float) else f"{name:48} {value:10d}")


if __name__ == "__main__":
    main()
