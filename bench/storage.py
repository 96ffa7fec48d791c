"""Storage: bytes per device per month of history at an hourly report interval: whole bodies (how reports were
stored before migration 0002_storage), software lists kept once per content (store/bodies.py) with the rest of
each body as text (before 0007_body_zlib), the same with that rest compressed (now), and the last after pruning
with the default retention (store/retention.py; target: at most 200 KB per device per month).

Run: python bench/storage.py [--devices N] [--days D]

Each of N simulated devices (collector.simulate.generate_fleet, hundreds of
packages each) reports every hour for D days: new report id and time, free
disk space and endpoint latencies that move, and its software list changed
once a week (one package upgraded), as patch days do. Every store gets the
same reports through the collector's own Ingestor; the earlier layouts are
handed each body as those releases stored it. Sizes are SQLite pages in use
(dbstat) after a checkpoint, per table. The "pruned" store is the compressed
one once ``hdc-collector prune`` has thinned it with the default retention
at the end of the D days; a year is extrapolated from the reports that
retention keeps for good.
"""
from __future__ import annotations

import argparse
import copy
import itertools
import json
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HOUR = timedelta(hours=1)


def hourly(devices: int, days: int):
    """Every device's report for every hour, in time order."""
    from collector.simulate import generate_fleet
    from inventory.registry import load_registry

    fleet = list(itertools.islice(generate_fleet(load_registry(), seed=11), devices))
    start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(days=days)
    for h in range(days * 24):
        for i, base in enumerate(fleet):
            if h and h % (24 * 7) == 0 and base["software"]:
                package = base["software"][(h // (24 * 7)) % len(base["software"])]
                package["version"] = f"{package.get('version') or '1'}.{h}"
            doc = copy.deepcopy(base)
            doc["report_id"] = str(uuid.uuid4())
            doc["collected_at"] = (start + h * HOUR + timedelta(minutes=i % 60)).strftime("%Y-%m-%dT%H:%M:%SZ")
            doc["hardware"]["system_disk"]["free_bytes"] -= h * 1_000_000
            for target in doc["network"]["reachability"]:
                if target.get("latency_ms") is not None:
                    target["latency_ms"] = round(target["latency_ms"] * (0.8 + (h % 7) / 15), 1)
            yield doc


def stored_as(layout: str, text: str):
    """The body as the store keeps it in ``layout``: "whole", "split" (text) or "compressed" (this release)."""
    from collector.store import bodies

    class AsText(bodies.SplitBody):
        """A body whose rest is kept as text, as releases before 0007_body_zlib kept it."""

        def report_columns(self) -> dict:
            return {"body": self.body, "body_zlib": None, "software_sha256": self.sha256,
                    "software_at": self.software_at}

    if layout == "whole":
        return AsText(text)
    part = bodies.split(text)
    return part if layout == "compressed" else AsText(part.body, part.software_at, part.software)


def fill(path: Path, docs, layout: str) -> tuple[int, float]:
    """Store ``docs`` in ``layout``; returns the number stored and the seconds taken."""
    from collector.context import build_context
    from collector.settings import Settings

    context = build_context(Settings(db_url=f"sqlite:///{path}"))
    start = time.perf_counter()
    n = 0
    for doc in docs:
        text = json.dumps(doc, ensure_ascii=False)
        context.ingestor.ingest(doc, text, stored_as(layout, text))
        n += 1
    context.engine.dispose()
    return n, time.perf_counter() - start


def pruned(path: Path) -> tuple[int, float]:
    """Prune ``path`` with the default retention as of now; the reports removed and the seconds taken."""
    from collector.store.engine import make_engine
    from collector.store.retention import Retention, prune, reclaim_space

    engine = make_engine(f"sqlite:///{path}")
    start = time.perf_counter()
    done = prune(engine, Retention(), datetime.now(timezone.utc))
    reclaim_space(engine)
    seconds = time.perf_counter() - start
    engine.dispose()
    return done.reports, seconds


def year_bytes(sizes: dict[str, int], kept: int, days: int, devices: int) -> float:
    """Bytes per device after a year: the reports retention keeps then, at this store's size per kept report,
    and the other tables growing as they did over ``days``."""
    from collector.store.retention import Retention

    r = Retention()
    per_report = sizes.get("reports", 0) / kept
    reports_kept = devices * (r.keep_all_days * 24 + (r.keep_daily_days - r.keep_all_days)
                              + (365 - r.keep_daily_days) / 7)
    other = sum(sizes.values()) - sizes.get("reports", 0)
    return (per_report * reports_kept + other * 365 / days) / devices


def table_bytes(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        rows = conn.execute("SELECT tbl_name, sum(pgsize) FROM dbstat JOIN sqlite_schema USING (name) "
                            "GROUP BY tbl_name").fetchall()
    return dict(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=8)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hdc-bench-storage-"))
    results = {}
    layouts = {"whole": "before 0002: whole bodies", "split": "before 0006: lists kept once, rest as text",
               "compressed": "now: lists kept once, rest compressed"}
    for layout, label in layouts.items():
        empty = work / f"empty-{layout}.sqlite3"
        fill(empty, [], layout)
        path = work / f"store-{layout}.sqlite3"
        n, seconds = fill(path, hourly(args.devices, args.days), layout)
        used, base = table_bytes(path), table_bytes(empty)
        results[label] = ({t: used[t] - base.get(t, 0) for t in used}, n, seconds)
    removed, prune_seconds = pruned(path)
    used = table_bytes(path)
    results["now, pruned: default retention"] = ({t: used[t] - base.get(t, 0) for t in used}, n - removed,
                                                 prune_seconds)
    per_month = 30 / args.days
    from collector.store.retention import Retention

    print(f"\nStorage: {args.devices} simulated devices reporting hourly for {args.days} days "
          f"({next(iter(results.values()))[1]:,} reports each way, software list changed weekly), SQLite\n")
    print("| layout | bytes per device per month | of which reports | software_lists | other tables | "
          "per report |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    totals = {}
    for label, (sizes, n, _) in results.items():
        total = sum(sizes.values())
        totals[label] = total
        reports_, lists = sizes.get("reports", 0), sizes.get("software_lists", 0)
        f = per_month / args.devices
        print(f"| {label} | {total * f / 1e6:.2f} MB | {reports_ * f / 1e6:.2f} MB | {lists * f / 1e6:.3f} MB | "
              f"{(total - reports_ - lists) * f / 1e6:.2f} MB | {total / n / 1024:.2f} KiB |")
    whole, split, after, kept = totals.values()
    print(f"\nKeeping each distinct software list once stores {whole / split:.1f}x less per device, compressing "
          f"the rest {split / after:.1f}x less again ({whole * per_month / args.devices / 1e6:.1f} MB -> "
          f"{split * per_month / args.devices / 1e6:.2f} MB -> {after * per_month / args.devices / 1e6:.2f} MB "
          f"per device per month; 5,000 devices: {after * per_month / args.devices * 5000 / 1e9:.1f} GB a month).")
    print("Storing: " + ", ".join(f"{label.split(':')[0]} {n / seconds:.0f} reports/s"
                                  for label, (_, n, seconds) in list(results.items())[:3])
          + " (one process, the Ingestor without HTTP)")
    sizes, left, seconds = results["now, pruned: default retention"]
    month = kept * per_month / args.devices
    verdict = "met" if month <= 200e3 else "NOT met"
    print(f"\nPruned with the default retention ({Retention().describe()}): {month / 1e3:.0f} KB per device "
          f"per month after {args.days} days (target <= 200 KB: {verdict}); {left:,} reports kept, pruned in "
          f"{seconds:.1f} s. A year, extrapolated: {year_bytes(sizes, left, args.days, args.devices) / 1e6:.2f} MB "
          f"per device (150,000 devices: {year_bytes(sizes, left, args.days, args.devices) * 150e3 / 1e9:.0f} GB).")


if __name__ == "__main__":
    main()
