"""Which of two revisions ingests faster over HTTP, measured so that the machine's own changes of speed cancel.

Run: python bench/tools/compare_ingest.py REV_A [REV_B] [--workers N] [--devices N] [--repeats R] [--postgres]
                                        [--real-size] [--load wrk|python]

REV_B defaults to the working tree. This development machine's speed varies
by up to 2x from one minute to the next, far more than most changes gain or
lose, so two runs of bench/ingest.py one after the other cannot tell a 5%
change apart. Here both revisions serve at once (`hdc-collector serve`,
each from its own git worktree and its own empty store) and receive the same
bursts of reports, A then B, then B then A, alternately; each pair of bursts
sees the same minute of the machine. It prints each pair and the median of
B's rate over A's, and in how many pairs B was faster, and the same for the
servers' CPU time per report (psutil, both processes of `--workers 2`),
which other work on the machine moves less than the rates.

--real-size sends bench/ingest.py's real-size rounds (this machine's own
report as distinct devices): their first reports are compared too, burst by
burst (each burst new devices to both stores), then the repeats sent whole
and as agents send them. --load picks bench/ingest.py's load generator
(wrk when installed).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import ingest  # noqa: E402  (bench/ingest.py: the workload, the load generator, the floor)

from support import postgres  # noqa: E402  (bench/support, on the path only from the lines above)

BURST = 300
_TOKENS = """
import json, sys
from collector.store.engine import make_engine, migrate
from collector.store.tokens import create_token
from collector.store.units import sync_units
from inventory.registry import load_registry
engine = make_engine(sys.argv[1])
migrate(engine)
with engine.begin() as conn:
    sync_units(conn, load_registry())
    print(json.dumps({w: create_token(conn, w, "compare") for w in sys.argv[2:]}))
"""


@contextlib.contextmanager
def checkout(rev: str | None, work: Path):
    """A worktree of ``rev`` (the project itself for None), removed afterwards."""
    if rev is None:
        yield ROOT
        return
    tree = work / f"tree-{rev.replace('/', '_')}"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(tree), rev], check=True)
    try:
        yield tree
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)


@contextlib.contextmanager
def collector(tree: Path, db_url: str, wards: set[str], workers: int, work: Path, tag: str):
    """``hdc-collector serve`` of ``tree``, its tokens created by that tree's own code."""
    tokens = subprocess.run([sys.executable, "-c", _TOKENS, db_url, *sorted(wards)], cwd=tree, check=True,
                            capture_output=True, text=True).stdout
    tokens_file = work / f"tokens-{tag}.json"
    tokens_file.write_text(tokens)
    server, url = ingest.start_serve(db_url, workers, tree)
    try:
        yield url, tokens_file, psutil.Process(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)


def burst(target: tuple[str, Path, psutil.Process], texts: list[str], work: Path, load: str, as_agent: bool
          ) -> tuple[float, float]:
    """Reports/s of one burst, and the server's CPU milliseconds per report."""
    url, tokens_file, server = target
    docs_file = work / "burst.jsonl"
    docs_file.write_text("\n".join(texts) + "\n", encoding="utf-8")
    cpu = ingest.cpu_seconds(server)
    result = ingest.send(load, url, tokens_file, docs_file, 8, as_agent)
    if set(result["statuses"]) != {"201"}:
        raise SystemExit(f"{url}: unexpected answers {result['statuses']}")
    return result["rate"], 1000 * (ingest.cpu_seconds(server) - cpu) / len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev_a")
    parser.add_argument("rev_b", nargs="?", help="default: the working tree")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--devices", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=8, help="hourly repeat rounds, each cut into bursts")
    parser.add_argument("--postgres", action="store_true", help="stores on a throwaway PostgreSQL server")
    parser.add_argument("--real-size", action="store_true", help="bench/ingest.py's real-size rounds, first "
                                                                 "reports compared too")
    parser.add_argument("--load", choices=ingest.LOADS, default="wrk" if shutil.which("wrk") else "python")
    args = parser.parse_args()

    docs = (ingest.real_size_rounds(args.devices, args.repeats) if args.real_size else
            ingest.rounds(args.devices, args.repeats, seed=7))
    wards = {json.loads(t)["ward_code"] for t in docs["first"]}
    work = Path(tempfile.mkdtemp(prefix="hdc-compare-"))
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(postgres.throwaway_server()) if args.postgres else None
        if args.postgres and server is None:
            raise SystemExit("--postgres: Debian's postgresql binaries are not installed")
        targets = {}
        for tag, rev in (("A", args.rev_a), ("B", args.rev_b)):
            tree = stack.enter_context(checkout(rev, work))
            db_url = server.new_database() if server else f"sqlite:///{work / f'{tag}.sqlite3'}"
            targets[tag] = stack.enter_context(collector(tree, db_url, wards, args.workers, work, tag))
        if not args.real_size:  # the first reports only fill the stores
            for tag in targets:
                burst(targets[tag], docs["first"], work, args.load, False)
        ratios: dict[str, list[tuple[float, float]]] = {}
        print(f"A = {args.rev_a}, B = {args.rev_b or 'the working tree'}; {args.workers} workers each, "
              f"{'PostgreSQL' if server else 'SQLite'}; bursts of {BURST} reports; load: {args.load}\n")
        print("| round | burst | A reports/s | B reports/s | B / A | A CPU ms/report | B CPU ms/report | B / A |\n"
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name, texts in docs.items():
            if name == "first" and not args.real_size:
                continue
            kind = name.rstrip("0123456789 ")
            for start in range(0, len(texts), BURST):
                part = texts[start:start + BURST]
                order = "AB" if sum(map(len, ratios.values())) % 2 == 0 else "BA"
                got = {tag: burst(targets[tag], part, work, args.load, name.startswith(ingest.AGENT))
                       for tag in order}
                pair = (got["B"][0] / got["A"][0], got["B"][1] / got["A"][1])
                ratios.setdefault(kind, []).append(pair)
                print(f"| {name} | {start // BURST + 1} | {got['A'][0]:.0f} | {got['B'][0]:.0f} | {pair[0]:.2f} | "
                      f"{got['A'][1]:.2f} | {got['B'][1]:.2f} | {pair[1]:.2f} |")
        print()
        for kind, pairs in ratios.items():
            rates, cpus = [r for r, _ in pairs], [c for _, c in pairs]
            print(f"{kind}: B / A rate median {statistics.median(rates):.3f} over {len(pairs)} pairs, B faster in "
                  f"{sum(r > 1 for r in rates)}; server CPU per report B / A median {statistics.median(cpus):.3f}, "
                  f"B cheaper in {sum(c < 1 for c in cpus)}.")

if __name__ == "__main__":
    main()
