"""The benchmarks' command lines: a fleet size they do not know is refused in one line, before any store is built."""
from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.parametrize("script", ["page.py", "scrape.py"])
def test_an_unknown_fleet_size_is_refused_naming_it(script):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script), "--sizes", "5k,5000"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.splitlines()[-1].endswith(
        "error: argument --sizes: 5000: not a fleet size; choose from 5k, 50k, 150k"), done.stderr
    assert not list((ROOT / "var").glob("bench-cache/*5000*"))  # nothing built or left behind for it
