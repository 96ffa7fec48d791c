"""/metrics at 5,000, 50,000 and 150,000 devices: scrape time and size, against the targets (< 100 ms at
5,000 devices, <= 50 ms at 150,000; size bounded by wards x rules x states, not devices).

Run: python bench/scrape.py [--sizes 5k,50k,150k] [--runs N] [--db URL]

Same stores as bench/page.py (bench/support/fleet.py). Each figure is the
median of --runs scrapes through the Flask app (no network); the series
count is the number of sample lines. A scrape of an unchanged store gives
the families kept from the last one (``exposition.KeptFamilies``, after a
cheap check that the store did not move on): that is the scrape figure
Prometheus sees between reports. The changed-store figure is a scrape that
composes every family again, as the first after a new report does (the kept
families forgotten before each). The peer figure is the floor: the shared
queries alone (the counts kept at ingest, the units' applications), with no
exposition, which a changed-store scrape runs.
"""
from __future__ import annotations

import argparse
import gc
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from page import median_ms  # noqa: E402  (bench/page.py, on the path only from the line above)

TARGET_MS = 100.0
NATIONAL_TARGET_MS = 50.0  # issue #22: /metrics at 150,000 devices


def measure(db_url: str, runs: int) -> dict[str, float]:
    from collector.app import create_app
    from collector.cloud.queries import unit_migrations
    from collector.http.server import settle_heap
    from collector.metrics.exposition import forget_kept
    from collector.settings import Settings
    from collector.store import queries

    app = create_app(Settings(db_url=db_url))
    settle_heap()  # as `hdc-collector serve` does once the app is built
    client = app.test_client()
    c = app.extensions["hdc"]
    body = client.get("/metrics").data
    series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
    since = c.settings.active_since()

    def queries_only() -> None:
        gc.disable()  # as exposition.render runs them: else the floor pays collections the scrape does not
        try:
            shared_reads()
        finally:
            gc.enable()

    def shared_reads() -> None:
        with c.engine.connect() as conn:
            counted = queries.active_counts(conn, since)
            queries.unit_summaries(conn, c.registry, since, counted)
            queries.class_verdict_counts(conn, since, counted)
            queries.rule_failure_counts(conn, since, counted)
            queries.app_device_counts(conn, since, counted=counted)
            queries.reachability_details(conn, since, counted=counted)
            queries.store_row_counts(conn)
            unit_migrations(conn, c.catalog, c.registry, datetime.now(timezone.utc), since, counted=counted)

    def changed() -> None:
        forget_kept(c.metrics_registry)
        client.get("/metrics")

    with c.engine.connect() as conn:
        devices = sum(s.devices for s in queries.unit_summaries(conn, c.registry, since))
    figures = {"devices": devices, "scrape ms": median_ms(lambda: client.get("/metrics"), runs),
               "changed ms": median_ms(changed, runs),
               "queries only ms": median_ms(queries_only, runs), "KiB": len(body) / 1024, "series": series}
    c.engine.dispose()
    return figures


def main() -> None:
    from support import fleet, machine

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=fleet.sizes, default="5k,50k,150k", help="of 5k, 50k, 150k")
    parser.add_argument("--db")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    targets = [("given store", args.db)] if args.db else [(s, fleet.store(s)) for s in args.sizes]
    print("\n/metrics, server-side, median of scrapes (Flask test client, no network)\n")
    print("| fleet | active devices | scrape ms | changed store: scrape ms | floor: queries only ms "
          "| changed / floor | size KiB | series | target |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    first = None
    for label, url in targets:
        f = measure(url, args.runs if label in ('5k', 'given store') else min(args.runs, 2))
        first = first or f
        if label in ("5k", "given store"):
            target = f"< {TARGET_MS:.0f} ms: {_verdict(f, lambda ms: ms < TARGET_MS)}"
        else:
            same = f["series"] == first["series"]
            target = f"series as at 5k: {'yes' if same else 'NO'}"
            if label == "150k":
                target += f"; ≤ {NATIONAL_TARGET_MS:.0f} ms: {_verdict(f, lambda ms: ms <= NATIONAL_TARGET_MS)}"
        print(f"| {label} | {f['devices']:,} | {f['scrape ms']:.1f} | {f['changed ms']:.1f} | "
              f"{f['queries only ms']:.1f} | {f['changed ms'] / f['queries only ms']:.2f} | {f['KiB']:.0f} | "
              f"{f['series']:,} | {target} |")
    print("\n" + machine.reference_line())


def _verdict(f: dict, met: Callable[[float], bool]) -> str:
    """A time target judged on both scrapes: at national scale reports arrive every second, so most scrapes
    Prometheus makes follow a change."""
    said = {True: "met", False: "NOT met"}
    return f"{said[met(f['scrape ms'])]} unchanged, {said[met(f['changed ms'])]} after a change"


if __name__ == "__main__":
    main()
