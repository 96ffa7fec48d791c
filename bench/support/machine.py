"""How fast this machine is at the moment a benchmark runs, in one figure printed beside the results.

The development and CI machines are shared virtual machines whose speed
varies by up to 2x from one minute to the next; a figure of the same
pure-Python work, measured in the same run, says which kind of minute the
results come from, so two runs can be compared.
"""
from __future__ import annotations

import timeit


def reference_ms() -> float:
    """Best of 5 times summing a million integers (about 17 ms on a quiet 2-vCPU AMD EPYC)."""
    return 1000 * min(timeit.repeat("sum(range(1_000_000))", number=1, repeat=5))


def reference_line() -> str:
    return (f"Machine speed during this run: {reference_ms():.1f} ms to sum 10^6 integers in Python "
            "(best of 5; about 17 ms when the development machine is quiet, higher when it is busy).")
