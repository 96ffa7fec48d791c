"""Server-side time of the readiness page at 5,000, 50,000 and 150,000 devices (target: the overview in under
100 ms at 5,000 devices and for the 126-unit simulated fleet).

Run: python bench/page.py [--sizes 5k,50k,150k] [--runs N] [--served-seconds S] [--db URL] [--ready-units N]

The stores are built once under var/bench-cache (see bench/support/fleet.py:
the 126-unit simulated fleet through the collector's Ingestor, then copied by
bulk SQL for the larger sizes, not posted over HTTP). With --db it measures
an existing store instead (a demo's, or PostgreSQL).

"Served" is what a reader waits for on a running collector: the app set up
as `hdc-collector serve` sets it up (overview composed before it listens and
recomposed in the background, see collector/readiness/cache.py), read once
every 0.2 s for --served-seconds while reports arrive in the same process at
--reports-per-second (current reports of the fleet's devices: five times
Hanoi's whole fleet reporting hourly), so the refresher recomposes every
ten seconds as it would in production; p50, p99 and the worst read. The
store is a copy, the cached one is not changed.

Medians of --runs requests through the Flask app (no network) give the rest:
composing the overview from the store (what the refresher does, and what a
reader would wait for with no overview kept): the process's first
composition, later ones of the unchanged store, and, on the served copy,
one after each 50 new reports (the units they land in worked out again;
their devices new or silent for days, so each replays its unit's device lives)
and one after those devices' next reports (an hourly stream of active devices,
which replays none); rendering the page from a kept
overview (what the first reader after a composition waits for; later
readers of the same address get the same page), a unit's page (read afresh),
the parts of the composition, and the upgrade plan: every device planned
(a collector's first plan) and the kept one (readiness/plan.py). No peer renders this page, so there is
none to compare with.

In the simulated fleet no unit has a register, so none is ready and no unit's past (the day it became ready,
its register criterion: readiness/pasts.py) is read. ``--ready-units N`` measures instead a variant of each
store, built once beside it (``...-readyN.sqlite3``): every unit given a register of exactly its active
devices per class (covered), then, through the Ingestor, a passing Windows 11 report for every failing
workstation and laptop of the first N units with no other failing device (ready units). Its rows add the
units with a register and the ready units; ``--db`` takes such a store too, for the previous code.
"""
from __future__ import annotations

import argparse
import itertools
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
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


def once_ms(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return 1000 * (time.perf_counter() - start)


def _fleet(registry, seed: int) -> list[dict]:
    """The simulated fleet's devices' current reports, made before any figure is taken: making them is
    seconds of Python that a served collector does not do, and would stall its readers at the interpreter lock."""
    from collector.simulate import generate_fleet

    return list(generate_fleet(registry, seed=seed))


def _reports(docs: list[dict]):
    """``docs`` sent endlessly, each with a new id and the moment it is sent."""
    for doc in itertools.cycle(docs):
        doc = dict(doc, report_id=str(uuid.uuid4()),
                   collected_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
        yield doc, json.dumps(doc, ensure_ascii=False)


def served(db_url: str, seconds: float, rate: float) -> dict[str, float]:
    """Reads of the overview on an app set up as `serve` sets it up, while reports are stored (module docstring)."""
    from collector.app import create_app
    from collector.http.server import keep_overview_ready, settle_heap
    from collector.settings import Settings
    from collector.store import bodies

    from support import fleet

    app = create_app(Settings(db_url=db_url))
    c, client = app.extensions["hdc"], app.test_client()
    docs = _fleet(c.registry, fleet.SEED)
    settle_heap()
    keep_overview_ready(app)
    stop, stored = threading.Event(), [0]

    def send() -> None:
        for doc, text in _reports(docs):
            if stop.wait(1 / rate):
                return
            c.ingestor.ingest(doc, text, bodies.split(text))
            stored[0] += 1

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    times, overviews = [], set()
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        start = time.perf_counter()
        response = client.get("/")
        times.append(time.perf_counter() - start)
        assert response.status_code == 200
        overviews.add(app.extensions["hdc"].overview_cache.get(c, datetime.now(timezone.utc)).now)
        time.sleep(0.2)
    stop.set()
    sender.join()
    app.extensions["hdc"].overview_cache.stop()
    after, repeated = after_reports(c, runs=3)
    c.engine.dispose()
    times.sort()
    return {"served p50": 1000 * statistics.median(times), "served p99": 1000 * times[int(0.99 * (len(times) - 1))],
            "served worst": 1000 * times[-1], "reads": len(times), "reports stored": stored[0],
            "compositions": len(overviews), "composing after 50 reports": after,
            "composing after their repeats": repeated}


def after_reports(c, runs: int, batch: int = 50) -> tuple[float, float]:
    """The median composition after ``batch`` new reports each time (what the refresher recomposes every ten
    seconds at 5 reports/s): the units they land in are worked out again, the others' kept rows reused. Then
    after the same devices' next reports: an hourly stream of active devices, which changes no device's life
    (``readiness/pasts.py`` replays nothing for it), where the first batch's devices were new or had not reported
    for days (the stores were built earlier), each of which replays its unit's lives."""
    from collector.readiness.overview import city_overview
    from collector.store import bodies

    from support import fleet

    docs, firsts, repeats = _fleet(c.registry, fleet.SEED + 1), [], []
    for i in range(runs):
        sent = docs[i * batch:(i + 1) * batch]
        for times in (firsts, repeats):
            for doc, text in itertools.islice(_reports(sent), batch):
                c.ingestor.ingest(doc, text, bodies.split(text))
            times.append(once_ms(lambda: city_overview(c, datetime.now(timezone.utc))))
    return statistics.median(firsts), statistics.median(repeats)


def ready_store(size: str, units: int) -> str:
    """The store of ``size`` with every unit's register and ``units`` ready units (module docstring), built once."""
    from support import fleet

    base = Path(fleet.store(size)[len("sqlite:///"):])
    path = base.with_name(f"{base.stem}-ready{units}.sqlite3")
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        shutil.copyfile(base, tmp)
        start = time.perf_counter()
        made = _make_ready(f"sqlite:///{tmp}", units)
        print(f"(registers for every unit, {made} reports making units ready, in {time.perf_counter() - start:.0f} s)",
              flush=True)
        tmp.rename(path)
        tmp.with_name(tmp.name + ".write-lock").unlink(missing_ok=True)  # the store's writer lock, of the tmp name
    return f"sqlite:///{path}"


_PCS = ("workstation", "laptop")


def _make_ready(db_url: str, units: int) -> int:
    """Registers for every unit, and passing reports for the failing PCs of the first ``units`` units whose other
    devices all pass; the reports sent."""
    import sqlalchemy as sa

    from collector.context import build_context
    from collector.settings import Settings
    from collector.store import bodies, register
    from collector.store.tables import devices, verdicts
    from inventory.equipment import Register, UnitCount

    c = build_context(Settings(db_url=db_url))
    now = datetime.now(timezone.utc)
    d, v = devices.c, verdicts.c
    with c.engine.begin() as conn:
        active = conn.execute(sa.select(d.device_id, d.ward_code, d.hostname, d.device_class, v.status)
                              .join(verdicts, v.device_id == d.device_id)
                              .where(d.last_collected_at >= c.settings.active_since(now))).all()
        per_class: dict[tuple[str, str], int] = {}
        for row in active:
            per_class[(row.ward_code, row.device_class)] = per_class.get((row.ward_code, row.device_class), 0) + 1
        counts = tuple(UnitCount(ward, cls, n, n) for (ward, cls), n in sorted(per_class.items()))
        register.store(conn, Register(counts, ()), "bench", "every unit's register", now)
    failing = [row for row in active if row.status not in ("ready", "ready_with_conditions")]
    blocked = {row.ward_code for row in failing if row.device_class not in _PCS}
    chosen = [u.code for u in c.registry if u.code not in blocked and u.code in {r.ward_code for r in active}][:units]
    sent = 0
    for row in failing:
        if row.ward_code in chosen:
            doc = _passing_pc(row.device_id, row.ward_code, row.hostname, row.device_class, now)
            text = json.dumps(doc, ensure_ascii=False)
            c.ingestor.ingest(doc, text, bodies.split(text))
            sent += 1
    c.engine.dispose()
    return sent


def _passing_pc(device_id: str, unit: str, hostname: str, device_class: str, at: datetime) -> dict:
    """A Windows 11 PC meeting every hard and soft rule, reported now under the device's id, desk and class."""
    from inventory.report import GiB, empty_report

    doc = empty_report(unit, "bench", "1", "agent")
    doc["report_id"] = str(uuid.uuid4())
    doc["collected_at"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    doc["device"].update(id=device_id, hostname=hostname, **{"class": device_class})
    doc["hardware"]["cpu"].update(model="Intel(R) Core(TM) i5-12400", vendor="GenuineIntel", family=6,
                                  model_number=151, stepping=5, logical_cores=12, physical_cores=6)
    doc["hardware"]["memory_bytes"] = 16 * GiB
    doc["hardware"]["system_disk"].update(mount="C:", size_bytes=476 * GiB, free_bytes=300 * GiB, media="ssd")
    doc["firmware"].update(boot_mode="uefi", secure_boot="enabled", tpm={"present": "yes", "spec_version": "2.0"},
                           bios={"vendor": "AMI", "version": "1.2", "date": "2023-03-01"})
    doc["os"].update(family="windows", name="Windows 11 Pro", id="windows", version="11", release="25H2",
                     edition="Professional", build="26200.1", architecture="x86_64")
    doc["network"]["reachability"] = [{"target": "hdc-portal", "ok": True, "latency_ms": 5.0}]
    return doc


def measure(db_url: str, runs: int) -> dict[str, float]:
    from collector.app import create_app
    from collector.cloud.queries import unit_migrations
    from collector.http.server import settle_heap
    from collector.readiness.overview import city_overview
    from collector.readiness.plan import PlanBook
    from collector.settings import Settings
    from collector.store import queries, reach_days, unit_days

    app = create_app(Settings(db_url=db_url))
    settle_heap()  # as `hdc-collector serve` does once the app is built
    client = app.test_client()
    c = app.extensions["hdc"]

    def get(url: str) -> None:
        assert client.get(url).status_code == 200

    def render() -> None:  # the first reader after a composition renders the kept overview's page
        c.kept_pages.clear()
        get("/")

    now = datetime.now(timezone.utc)
    since = c.settings.active_since(now)
    unit = next(iter(c.registry)).code
    with c.engine.connect() as conn:
        summaries = queries.unit_summaries(conn, c.registry, since, threshold=c.settings.coverage_threshold)
        figures = {"active devices": sum(s.devices for s in summaries),
                   "units with a register": sum(1 for s in summaries if s.coverage.expected),
                   "ready units": sum(1 for s in summaries if s.status == "ready"),
                   # The process's first composition works out every unit from its kept rows; the next ones
                   # only those whose rows changed (none here: the store is not written to).
                   "composing, first": once_ms(lambda: city_overview(c, datetime.now(timezone.utc))),
                   "composing": median_ms(lambda: city_overview(c, datetime.now(timezone.utc)), runs),
                   "rendering": median_ms(render, runs),
                   "unit page": median_ms(lambda: get(f"/units/{unit}"), runs),
                   "of composing: unit_summaries": median_ms(
                       lambda: queries.unit_summaries(conn, c.registry, since), runs),
                   "of composing: applications": median_ms(
                       lambda: unit_migrations(conn, c.catalog, c.registry, now, since), runs),
                   "of composing: history": median_ms(
                       lambda: unit_days.read(conn, now, c.settings.stale_after_days), runs),
                   "of composing: reach by day": median_ms(
                       lambda: reach_days.read(conn, now, c.settings.stale_after_days), runs),
                   # Every device planned (a collector's first plan), and the kept plan later readers get.
                   "plan, all devices": median_ms(
                       lambda: PlanBook(c.plan_book.actions, c.plan_book.price_list).city_plan(c, now), runs),
                   "plan, kept": median_ms(c.plan, runs)}
    c.engine.dispose()
    return figures


def _copy(db_url: str, into: Path) -> str:
    """A copy of a benchmark store (SQLite) that the served measurement may write to."""
    source = Path(db_url[len("sqlite:///"):])
    target = into / source.name
    shutil.copyfile(source, target)
    return f"sqlite:///{target}"


def main() -> None:
    from support import fleet, machine

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=fleet.sizes, default="5k,50k,150k", help="of 5k, 50k, 150k")
    parser.add_argument("--db", help="measure this store instead of the benchmark fleets (not written to: "
                                     "no served figures)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--served-seconds", type=float, default=30.0)
    parser.add_argument("--reports-per-second", type=float, default=5.0)
    parser.add_argument("--ready-units", type=int, help="measure the stores with every unit's register and this "
                                                        "many ready units (module docstring)")
    args = parser.parse_args()

    targets = [("given store", args.db)] if args.db else [
        (s, fleet.store(s) if args.ready_units is None else ready_store(s, args.ready_units)) for s in args.sizes]
    rows = []
    with tempfile.TemporaryDirectory(prefix="hdc-bench-page-") as work:
        for label, url in targets:
            # The larger stores take seconds per composition: fewer runs keep `make bench` within minutes.
            figures = measure(url, args.runs if label in ("5k", "given store") else min(args.runs, 2))
            if not args.db:
                copy = _copy(url, Path(work))
                figures.update(served(copy, args.served_seconds, args.reports_per_second))
                Path(copy[len("sqlite:///"):]).unlink()
            rows.append((label, figures))
    print("\nReadiness page, server-side, ms (Flask test client, no network)\n")
    keys = [k for k in rows[0][1] if k not in _COUNTED]
    print("| fleet | " + " | ".join(_COUNTED) + " | " + " | ".join(keys) + " | target |")
    print("| --- | " + " | ".join("---:" for _ in _COUNTED) + " | " + " | ".join("---:" for _ in keys) + " | --- |")
    for label, f in rows:
        if "served p99" in f and label == "5k":
            verdict = "met" if f["served p99"] < TARGET_MS else "NOT met"
            target = f"overview served, p99 < {TARGET_MS:.0f} ms: {verdict}"
        else:
            target = "none"
        print(f"| {label} | " + " | ".join(f"{f[k]:,}" for k in _COUNTED) + " | "
              + " | ".join(_cell(f[k]) for k in keys) + f" | {target} |")
    print(f"\nServed: read every 0.2 s for {args.served_seconds:.0f} s while {args.reports_per_second:g} reports/s "
          "were stored; compositions = distinct overviews the reads got.")
    print("\n" + machine.reference_line())


_COUNTED = ("active devices", "units with a register", "ready units")


def _cell(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:.1f}"


if __name__ == "__main__":
    main()
