from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from inventory.readiness import VERDICTS, readiness_ratio, unit_status


def test_unit_status_cases():
    assert unit_status({}) == "no_data"
    assert unit_status({"ready": 3, "ready_with_conditions": 2}) == "ready"
    assert unit_status({"ready": 30, "not_ready": 1, "unknown": 1}) == "not_ready"
    assert unit_status({"ready": 30, "unknown": 1}) == "unknown"


def test_ratio_counts_conditional_devices_as_passing():
    assert readiness_ratio({"ready": 1, "ready_with_conditions": 1, "not_ready": 2}) == 0.5
    assert readiness_ratio({}) == 0.0


@given(st.fixed_dictionaries({v: st.integers(0, 1000) for v in VERDICTS}))
def test_ratio_is_a_share_and_ready_means_all_pass(counts):
    ratio = readiness_ratio(counts)
    assert 0.0 <= ratio <= 1.0
    assert (unit_status(counts) == "ready") == (sum(counts.values()) > 0 and ratio == 1.0)
