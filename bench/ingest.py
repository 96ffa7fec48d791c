"""Ingest throughput: reports per second over HTTP against the floor with no HTTP and no validation.

Run: python bench/ingest.py [--reports N] [--concurrency C] [--postgres URL]

--postgres takes the URL of an empty database on a running server, e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/bench.

The HTTP figure posts realistic simulated reports (hundreds of packages each)
from a separate process to a real `hdc-collector serve`, so client and server
share the machine's cores as agents and a collector would not; the floor
parses the same bodies and stores them through the same Ingestor in-process.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bodies(n: int, seed: int) -> list[str]:
    from collector.simulate import generate_fleet
    from inventory.registry import load_registry

    return [json.dumps(d, ensure_ascii=False) for d in itertools.islice(generate_fleet(load_registry(), seed=seed), n)]


def _empty(db_url: str) -> None:
    """Drop what the HTTP run stored, so the floor writes the same rows into the same kind of store."""
    import sqlalchemy as sa

    from collector.store.engine import make_engine
    from collector.store.tables import metadata

    engine = make_engine(db_url)
    metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


def floor(db_url: str, docs: list[str]) -> float:
    """Parse and store with the collector's own Ingestor: no HTTP, no auth, no schema validation."""
    from collector.app import build_context
    from collector.settings import Settings

    ctx = build_context(Settings(db_url=db_url))
    start = time.perf_counter()
    for body in docs:
        ctx.ingestor.ingest(json.loads(body), body)
    elapsed = time.perf_counter() - start
    ctx.engine.dispose()
    return len(docs) / elapsed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tokens(db_url: str, wards: set[str]) -> dict[str, str]:
    from collector.store.engine import make_engine, migrate
    from collector.store.tokens import create_token
    from collector.store.wards import sync_wards
    from inventory.registry import load_registry

    engine = make_engine(db_url)
    migrate(engine)
    with engine.begin() as conn:
        sync_wards(conn, load_registry())
        tokens = {w: create_token(conn, w, "bench") for w in sorted(wards)}
    engine.dispose()
    return tokens


def over_http(db_url: str, docs_file: Path, concurrency: int) -> dict:
    """Start `hdc-collector serve`, post every report from another process, stop the collector."""
    wards = {json.loads(line)["ward_code"] for line in open(docs_file, encoding="utf-8")}
    tokens_file = docs_file.with_suffix(".tokens.json")
    tokens_file.write_text(json.dumps(_tokens(db_url, wards)))
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "collector.cli", "serve", "--db", db_url,
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        out = subprocess.run([sys.executable, __file__, "--post", str(docs_file), str(tokens_file), url,
                              str(concurrency)], capture_output=True, text=True, check=True)
        return json.loads(out.stdout)
    finally:
        server.terminate()
        server.wait(timeout=30)


def post(docs_file: str, tokens_file: str, url: str, concurrency: int) -> None:
    """The load generator, in its own process like real agents."""
    from collector.loadgen import post_reports

    tokens = json.loads(Path(tokens_file).read_text())
    docs = [json.loads(line) for line in open(docs_file, encoding="utf-8")]
    start = time.perf_counter()
    stats = post_reports(url, docs, tokens.__getitem__, concurrency=concurrency)
    elapsed = time.perf_counter() - start
    lat = sorted(stats.latencies)
    print(json.dumps({"rate": stats.sent / elapsed, "p50_ms": 1000 * statistics.median(lat),
                      "p99_ms": 1000 * lat[int(len(lat) * 0.99) - 1], "statuses": dict(stats.by_status)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--postgres", metavar="URL", help="also run on this empty PostgreSQL database")
    parser.add_argument("--post", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.post:
        post(args.post[0], args.post[1], args.post[2], int(args.post[3]))
        return

    docs = bodies(args.reports, seed=7)
    size = statistics.mean(len(b.encode()) for b in docs)
    work = Path(tempfile.mkdtemp(prefix="hdc-bench-"))
    docs_file = work / "reports.jsonl"
    docs_file.write_text("\n".join(docs) + "\n", encoding="utf-8")
    backends = [("SQLite", f"sqlite:///{work / 'http.sqlite3'}", f"sqlite:///{work / 'floor.sqlite3'}")]
    if args.postgres:
        backends.append(("PostgreSQL", args.postgres, args.postgres))
    rows = []
    for label, http_url, floor_url in backends:
        http = over_http(http_url, docs_file, args.concurrency)
        if http_url == floor_url:
            _empty(floor_url)
        rows.append((label, http, floor(floor_url, docs)))
    print(f"\nIngest: {args.reports} simulated reports, {size / 1024:.1f} KiB each on average, "
          f"{args.concurrency} concurrent senders, {os.cpu_count()} cores\n")
    print("| store | HTTP reports/s | p50 ms | p99 ms | floor reports/s | floor / HTTP | target |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for label, http, base in rows:
        ok = http["rate"] >= 300 and base / http["rate"] <= 3
        print(f"| {label} | {http['rate']:.0f} | {http['p50_ms']:.1f} | {http['p99_ms']:.1f} | {base:.0f} | "
              f"{base / http['rate']:.2f}x | {'met' if ok else 'NOT met'} (>= 300/s, within 3x) |")
        if set(http["statuses"]) != {"201"}:
            print(f"  unexpected answers: {http['statuses']}")


if __name__ == "__main__":
    main()
