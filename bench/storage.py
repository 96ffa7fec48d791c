"""Storage: bytes per device per month of history at an hourly report interval, with software lists kept once
per content (store/bodies.py) against whole bodies (how reports were stored before migration 0002_storage).

Run: python bench/storage.py [--devices N] [--days D]

Each of N simulated devices (collector.simulate.generate_fleet, hundreds of
packages each) reports every hour for D days: new report id and time, free
disk space and endpoint latencies that move, and its software list changed
once a week (one package upgraded), as patch days do. Both stores get the
same reports through the collector's own Ingestor; the "before" store is
handed each body whole, which is what the store did before the split. Sizes
are SQLite pages in use (dbstat) after a checkpoint, per table.
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


def fill(path: Path, docs, split: bool) -> tuple[int, float]:
    """Store ``docs``; returns the number stored and the seconds taken."""
    from collector.context import build_context
    from collector.settings import Settings
    from collector.store import bodies

    context = build_context(Settings(db_url=f"sqlite:///{path}"))
    start = time.perf_counter()
    n = 0
    for doc in docs:
        text = json.dumps(doc, ensure_ascii=False)
        context.ingestor.ingest(doc, text, bodies.split(text) if split else bodies.SplitBody(text))
        n += 1
    context.engine.dispose()
    return n, time.perf_counter() - start


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
    for label, split in (("before: whole bodies", False), ("after: lists kept once", True)):
        empty = work / f"empty-{split}.sqlite3"
        fill(empty, [], split)
        path = work / f"store-{split}.sqlite3"
        n, seconds = fill(path, hourly(args.devices, args.days), split)
        used, base = table_bytes(path), table_bytes(empty)
        results[label] = ({t: used[t] - base.get(t, 0) for t in used}, n, seconds)
    per_month = 30 / args.days
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
    before, after = totals.values()
    print(f"\nKeeping each distinct software list once stores {before / after:.1f}x less per device "
          f"({before * per_month / args.devices / 1e6:.1f} MB -> {after * per_month / args.devices / 1e6:.1f} MB "
          f"per device per month; 5,000 devices: {after * per_month / args.devices * 5000 / 1e9:.1f} GB a month).")


if __name__ == "__main__":
    main()
