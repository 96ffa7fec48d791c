"""Stores of 5,000, 50,000 and 150,000 devices for the scrape and page benchmarks, built once and reused.

The first size is the 126-unit simulated fleet itself (``simulate.generate_changes``:
first reports since 09/2025, upgrades, current reports), stored through the
collector's own Ingestor. Posting 150,000 devices over HTTP would take longer
than the benchmarks may, so the larger stores are that fleet copied k times by
bulk SQL (INSERT ... SELECT with new device and report ids and hostnames): the
same rows, verdicts, rule results, applications, reachability and verdict
history (verdicts and reach of the HDC), k times over, in the same 126 units. Copied reports keep their row
but not their body (no reader of the benchmarks reads it).
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("HDC_BENCH_CACHE", ROOT / "var" / "bench-cache"))
SEED = 2025
COPIES = {"5k": 1, "50k": 10, "150k": 30}
_RENAMED = ("device_id", "report_id", "last_report_id", "hostname")


def _base(path: Path) -> float:
    """The simulated fleet, ingested; seconds taken."""
    from collector.context import build_context
    from collector.settings import Settings
    from collector.simulate import generate_changes
    from collector.store import bodies

    context = build_context(Settings(db_url=f"sqlite:///{path}"))
    start = time.perf_counter()
    for doc in generate_changes(context.registry, seed=SEED):
        text = json.dumps(doc, ensure_ascii=False)
        context.ingestor.ingest(doc, text, bodies.split(text))
    context.engine.dispose()
    return time.perf_counter() - start


def _copy(path: Path, copies: int) -> None:
    """Add ``copies - 1`` copies of every device and its rows, by SQL."""
    from collector.store import counts, device_work, reach_days, unit_days
    from collector.store.engine import make_engine
    from collector.store.tables import (
        device_apps,
        devices,
        reachability,
        reachability_changes,
        reports,
        rule_results,
        verdict_changes,
        verdicts,
    )

    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        for k in range(1, copies):
            suffix = f"~{k}"
            for table in (reports, devices, verdicts, rule_results, device_apps, reachability, reachability_changes,
                          verdict_changes):
                columns = [c for c in table.columns if not (c.primary_key and c.autoincrement is True
                                                            and isinstance(c.type, sa.Integer))]
                values = [(c + sa.literal(suffix)) if c.name in _RENAMED else
                          (sa.literal("{}") if table is reports and c.name == "body" else
                           sa.null() if table is reports and c.name in ("software_sha256", "software_at") else c)
                          for c in columns]
                source = sa.select(*values).where(~table.c[_key(table)].like("%~%"))
                conn.execute(table.insert().from_select([c.name for c in columns], source))
        counts.rebuild(conn)
        unit_days.rebuild(conn)
        reach_days.rebuild(conn)
        device_work.rebuild(conn)
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def _key(table: sa.Table) -> str:
    return "report_id" if table.name == "reports" else "device_id"


def sizes(text: str) -> list[str]:
    """``--sizes`` of a benchmark: comma-separated names of the fleets it knows (an argparse ``type``, so a
    wrong name is refused in one line before any store is built)."""
    import argparse

    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in COPIES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"{', '.join(unknown) or repr(text)}: not a fleet size; "
                                         f"choose from {', '.join(COPIES)}")
    return names


def store(size: str) -> str:
    """The URL of a SQLite store of ``size`` ("5k", "50k", "150k"), built on first use."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"fleet-{SEED}-{size}.sqlite3"
    if path.exists():
        return f"sqlite:///{path}"
    base = CACHE / f"fleet-{SEED}-5k.sqlite3"
    if not base.exists():
        tmp = base.with_suffix(".tmp")
        for p in CACHE.glob(tmp.name + "*"):
            p.unlink()
        seconds = _base(tmp)
        print(f"(seeded the simulated fleet through the Ingestor in {seconds:.0f} s)", flush=True)
        _checkpoint(tmp)
        with sqlite3.connect(tmp) as conn:
            conn.execute("ANALYZE")
        tmp.rename(base)
    if size != "5k":
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(base.read_bytes())
        start = time.perf_counter()
        _copy(tmp, COPIES[size])
        _checkpoint(tmp)
        print(f"(copied it x{COPIES[size]} by bulk SQL in {time.perf_counter() - start:.0f} s)", flush=True)
        tmp.rename(path)
    for leftover in CACHE.glob("*.tmp.write-lock"):
        leftover.unlink()
    return f"sqlite:///{path}"


def _checkpoint(path: Path) -> None:
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
