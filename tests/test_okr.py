"""OKRs as data: the shipped file, progress and pace arithmetic on hand-made dates, and a strict loader."""
from __future__ import annotations

from datetime import date

import pytest

from inventory.baseline import load_baseline
from inventory.milestones import load_milestones
from inventory.okr import MEASURES, OkrError, expected, load_okr, pace, parse_okr, progress


def test_shipped_okr_turns_the_citys_milestones_into_key_results():
    okr = load_okr()
    okr.check_references([m.id for m in load_milestones()], load_baseline().rule_ids(), "okr.yaml")
    krs = {k.id: k for _, k in okr.key_results()}
    assert (krs["units_ready"].target, krs["units_ready"].due) == (126, date(2025, 11, 30))
    assert (krs["applications_migrated"].target, krs["applications_migrated"].due) == (1, date(2026, 1, 1))
    assert krs["units_reaching_hdc"].threshold == 0.8 and krs["supported_os"].rule == "os_supported"
    assert krs["equipment_items_done"].milestone == "equipment_upgraded"
    assert all(o.title_vi and o.title_en for o in okr.objectives)
    assert all(k.owner and k.title_vi != k.title_en and k.start <= k.due for _, k in okr.key_results())
    assert {k.measure for _, k in okr.key_results()} == set(MEASURES)


@pytest.mark.parametrize("value, baseline, target, done", [
    (63, 0, 126, 0.5), (130, 0, 126, 1.0), (0.5, 0.2, 0.8, 0.5), (0.1, 0.2, 0.8, 0.0),
    (5, 20, 0, 0.75),        # a target below its baseline counts downwards (e.g. overdue items)
    (1, 1, 1, 1.0), (0.9, 1, 1, 0.0)])
def test_progress_runs_from_baseline_to_target(value, baseline, target, done):
    assert progress(value, baseline, target) == pytest.approx(done)


START, DUE = date(2025, 11, 1), date(2025, 11, 30)  # 30 days: the line gains 1/30 a day


@pytest.mark.parametrize("done, today, status", [
    (1.0, date(2025, 12, 15), "done"),          # done stays done, even past due
    (0.5, date(2025, 11, 15), "on_track"),      # day 15 of 30: 0.5 expected
    (0.45, date(2025, 11, 15), "at_risk"),      # within the 0.1 margin
    (0.35, date(2025, 11, 15), "off_track"),
    (0.0, date(2025, 10, 20), "on_track"),      # before the start nothing is expected
    (0.99, date(2025, 12, 1), "off_track"),     # the day after due: not done is off track
    (0.95, date(2025, 11, 30), "at_risk"),      # due today: 1 expected by the end of the day
])
def test_pace_against_the_straight_line(done, today, status):
    assert pace(done, START, DUE, today) == status


def test_expected_reaches_one_at_the_end_of_the_due_day():
    assert expected(START, DUE, date(2025, 11, 1)) == pytest.approx(1 / 30)
    assert expected(START, DUE, DUE) == 1.0
    assert pace(0.3, START, DUE, date(2025, 11, 15), margin=0.25) == "at_risk"


KR = ("      - {id: k, title_vi: Kê, title_en: K, measure: units_ready, baseline: 0, target: 126,"
      " start: 2025-09-01, due: 2025-11-30, owner: Sở KH&CN")
ONE = "objectives:\n  - id: o\n    title_vi: Ô\n    title_en: O\n    key_results:\n" + KR + "}\n"


def test_a_minimal_file_loads():
    okr = parse_okr(ONE, "okr.yaml")
    (objective, kr), = okr.key_results()
    assert (objective.id, kr.id, kr.target, kr.owner, okr.at_risk_margin) == ("o", "k", 126, "Sở KH&CN", 0.1)


@pytest.mark.parametrize("text, line, field, fragment", [
    (ONE.replace("measure: units_ready", "measure: units_happy"), 6, "objectives[0].key_results[0].measure",
     "'units_happy' is not a measure"),
    (ONE.replace("target: 126", "target: '126'"), 6, "objectives[0].key_results[0].target", "expected a number"),
    (ONE.replace("measure: units_ready", "measure: devices_passing_ratio"), 6,
     "objectives[0].key_results[0].target", "from 0 to 1, got 126"),
    (ONE.replace("measure: units_ready", "measure: units_reaching_hdc"), 6,
     "objectives[0].key_results[0].threshold", "required by measure 'units_reaching_hdc'"),
    (ONE.replace("target: 126", "target: 126, rule: memory"), 6, "objectives[0].key_results[0].rule",
     "not used by measure 'units_ready'"),
    (ONE.replace("due: 2025-11-30", "due: 2025-08-30"), 6, "objectives[0].key_results[0].due", "before the start"),
    (ONE.replace("due: 2025-11-30", "due: 30/11/2025"), 6, "objectives[0].key_results[0].due", "not a date"),
    (ONE.replace(", owner: Sở KH&CN", ""), 6, "objectives[0].key_results[0].owner", "required"),
    (ONE.replace("owner: Sở KH&CN", "owner: x, weight: 2"), 6, "objectives[0].key_results[0].weight",
     "unknown key"),
    (ONE + KR + "}\n", 7, "objectives[0].key_results[1].id", "duplicate id 'k'"),
    (ONE.replace("id: o", "id: O-1"), 2, "objectives[0].id", "not an id"),
    (ONE.replace("    title_en: O\n", ""), 2, "objectives[0].title_en", "required"),
    ("at_risk_margin: 2\n" + ONE, 1, "at_risk_margin", "from 0 to 1"),
    ("objectives: []\n", 1, "objectives", "empty list"),
])
def test_bad_files_are_refused_naming_line_and_field(text, line, field, fragment):
    with pytest.raises(OkrError) as caught:
        parse_okr(text, "okr.yaml")
    message = str(caught.value)
    assert message.startswith(f"okr.yaml: line {line}: field '{field}': "), message
    assert fragment in message, message


def test_references_to_unknown_milestones_and_rules_are_refused():
    text = ONE.replace("measure: units_ready", "measure: work_items_done_ratio, milestone: tet_holiday")
    okr = parse_okr(text.replace("target: 126", "target: 1"), "okr.yaml")
    with pytest.raises(OkrError, match=r"okr.yaml: key result 'o.k': field 'milestone': unknown milestone "
                                       r"'tet_holiday'; known: equipment_upgraded"):
        okr.check_references(["equipment_upgraded"], ["memory"], "okr.yaml")
