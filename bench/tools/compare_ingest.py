"""Which of two revisions ingests faster over HTTP, measured so that the machine's own changes of speed cancel.

Run: python bench/tools/compare_ingest.py REV_A [REV_B] [--workers N] [--devices N] [--repeats R] [--postgres]

REV_B defaults to the working tree. This development machine's speed varies
by up to 2x from one minute to the next, far more than most changes gain or
lose, so two runs of bench/ingest.py one after the other cannot tell a 5%
change apart. Here both revisions serve at once (`hdc-collector serve`,
each from its own git worktree and its own empty store) and receive the same
bursts of reports, A then B, then B then A, alternately; each pair of bursts
sees the same minute of the machine. It prints each pair and the median of
B's rate over A's, and in how many pairs B was faster.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

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
        yield url, tokens_file
    finally:
        server.terminate()
        server.wait(timeout=30)


def burst(target: tuple[str, Path], texts: list[str], work: Path) -> float:
    url, tokens_file = target
    docs_file = work / "burst.jsonl"
    docs_file.write_text("\n".join(texts) + "\n", encoding="utf-8")
    done = subprocess.run([sys.executable, ingest.__file__, "--post", str(docs_file), str(tokens_file), url, "8"],
                          capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    if set(result["statuses"]) != {"201"}:
        raise SystemExit(f"{url}: unexpected answers {result['statuses']}")
    return result["rate"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev_a")
    parser.add_argument("rev_b", nargs="?", help="default: the working tree")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--devices", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=8, help="hourly repeat rounds, each cut into bursts")
    parser.add_argument("--postgres", action="store_true", help="stores on a throwaway PostgreSQL server")
    args = parser.parse_args()

    docs = ingest.rounds(args.devices, args.repeats, seed=7)
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
        for tag in targets:
            burst(targets[tag], docs["first"], work)
        ratios = []
        print(f"A = {args.rev_a}, B = {args.rev_b or 'the working tree'}; {args.workers} workers each, "
              f"{'PostgreSQL' if server else 'SQLite'}; bursts of {BURST} repeat reports\n")
        print("| round | burst | A reports/s | B reports/s | B / A |\n| --- | ---: | ---: | ---: | ---: |")
        for name, texts in docs.items():
            if name == "first":
                continue
            for start in range(0, len(texts), BURST):
                part = texts[start:start + BURST]
                order = "AB" if len(ratios) % 2 == 0 else "BA"
                rates = {tag: burst(targets[tag], part, work) for tag in order}
                ratios.append(rates["B"] / rates["A"])
                print(f"| {name} | {start // BURST + 1} | {rates['A']:.0f} | {rates['B']:.0f} | {ratios[-1]:.2f} |")
        print(f"\nB / A: median {statistics.median(ratios):.3f} over {len(ratios)} pairs; "
              f"B faster in {sum(r > 1 for r in ratios)} of them.")


if __name__ == "__main__":
    main()
