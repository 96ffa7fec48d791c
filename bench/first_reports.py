"""First reports of real size, as `make bench` runs it: bench/ingest.py --real-size over HTTP, then --profile.

Run: python bench/first_reports.py [--reports N]

This machine's own agent report is the template of N distinct devices, each
with a software list new to the store (what a new unit's rollout sends);
8 keep-alive clients post them to `hdc-collector serve --workers 2` on
SQLite, beside the floor (the same bodies through the Ingestor, no HTTP).
Target: >= 300 reports/s, within 2x of the floor. Then where one process's
time goes for such reports, step by step (see bench/ingest.py).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

INGEST = Path(__file__).resolve().parent / "ingest.py"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1000)
    args = parser.parse_args()
    runs = (["--workers", "2", "--repeats", "1", "--no-postgres", "--reports", str(args.reports)],
            ["--profile", "--reports", str(min(args.reports, 300))])
    for extra in runs:
        done = subprocess.run([sys.executable, str(INGEST), "--real-size", *extra])
        if done.returncode:
            return done.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
