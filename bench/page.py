"""Server-side render time of the readiness page at 5,000, 50,000 and 150,000 devices (target: overview < 100 ms
at 5,000 devices and for the 126-unit simulated fleet).

Run: python bench/page.py [--sizes 5k,50k,150k] [--runs N] [--db URL]

The stores are built once under var/bench-cache (see bench/support/fleet.py:
the 126-unit simulated fleet through the collector's Ingestor, then copied by
bulk SQL for the larger sizes, not posted over HTTP). With --db it measures
an existing store instead (a demo's, or PostgreSQL).

Figures are medians of --runs requests through the Flask app (no network):
the overview composed from the store ("cold": every reader when no cache is
kept, and the first after a change) and reused ("warm", see
overview.OverviewCache), a unit's page, and the parts of the cold figure. No
peer renders this page, so there is none to compare with.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_MS = 100.0


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def measure(db_url: str, runs: int) -> dict[str, float]:
    from collector import queries
    from collector.app import create_app
    from collector.migration_queries import unit_migrations
    from collector.history import load_lives
    from collector.settings import Settings

    from collector.server import settle_heap

    app = create_app(Settings(db_url=db_url))
    settle_heap()  # as `hdc-collector serve` does once the app is built
    client = app.test_client()
    c = app.extensions["hdc"]

    def get(url: str, fresh: bool) -> None:
        if fresh:
            app.extensions.pop("hdc.overview_cache", None)
        assert client.get(url).status_code == 200

    now = datetime.now(timezone.utc)
    since = c.settings.active_since(now)
    unit = next(iter(c.registry)).code
    with c.engine.connect() as conn:
        devices = sum(s.devices for s in queries.ward_summaries(conn, c.registry, since))
        figures = {"active devices": devices,
                   "overview cold": median_ms(lambda: get("/", True), runs),
                   "overview warm": median_ms(lambda: get("/", False), runs),
                   "unit page": median_ms(lambda: get(f"/units/{unit}", False), runs),
                   "of cold: ward_summaries": median_ms(lambda: queries.ward_summaries(conn, c.registry, since), runs),
                   "of cold: applications": median_ms(
                       lambda: unit_migrations(conn, c.catalog, c.registry, now, since), runs),
                   "of cold: history": median_ms(lambda: load_lives(conn, now, since), runs)}
    c.engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5k,50k,150k")
    parser.add_argument("--db", help="measure this store instead of the benchmark fleets")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from support import fleet, machine

    targets = [("given store", args.db)] if args.db else [(s, fleet.store(s)) for s in args.sizes.split(",")]
    # The larger stores take seconds per cold render: fewer runs keep `make bench` within minutes.
    rows = [(label, measure(url, args.runs if label in ('5k', 'given store') else min(args.runs, 2)))
            for label, url in targets]
    print("\nReadiness page, server-side, median ms (Flask test client, no network)\n")
    keys = [k for k in rows[0][1] if k != "active devices"]
    print("| fleet | active devices | " + " | ".join(keys) + " | target |")
    print("| --- | ---: | " + " | ".join("---:" for _ in keys) + " | --- |")
    for label, f in rows:
        verdict = "met" if f["overview cold"] < TARGET_MS else "NOT met"
        target = f"overview cold < {TARGET_MS:.0f} ms: {verdict}" if label in ("5k", "given store") else "none"
        print(f"| {label} | {f['active devices']:,} | " + " | ".join(f"{f[k]:.1f}" for k in keys) + f" | {target} |")
    print("\n" + machine.reference_line())


if __name__ == "__main__":
    main()
