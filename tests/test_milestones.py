"""The city's plan as data: the shipped dates, deadline arithmetic, and a strict loader."""
from __future__ import annotations

from datetime import date

import pytest

from inventory.milestones import Milestone, MilestoneError, load_milestones, parse_milestones


def test_shipped_plan():
    plan = load_milestones()
    assert [(m.id, m.date) for m in plan] == [
        ("equipment_upgraded", date(2025, 11, 30)),
        ("hdc_cloud_start", date(2025, 12, 1)),
        ("key_tasks_done", date(2025, 12, 31)),
        ("integrated_operation", date(2026, 1, 1)),
        ("ihanoi_super_app", date(2026, 12, 31)),
    ]
    titles = {m.id: m for m in plan}
    assert "cấp xã" in titles["equipment_upgraded"].title_vi
    assert "Trung tâm Dữ liệu Hà Nội" in titles["hdc_cloud_start"].title_vi
    assert "iHanoi" in titles["ihanoi_super_app"].title_en
    assert all(m.title_vi and m.title_en for m in plan)


@pytest.mark.parametrize("as_of, left, overdue", [
    (date(2025, 11, 1), 29, 0),
    (date(2025, 11, 30), 0, 0),      # due today: not late yet
    (date(2025, 12, 1), -1, 1),
    (date(2026, 11, 28), -363, 363),
])
def test_days_left_and_overdue(as_of, left, overdue):
    m = Milestone("equipment_upgraded", date(2025, 11, 30), "x", "x")
    assert m.days_left(as_of) == left
    assert m.days_overdue(as_of) == overdue


def test_loads_from_a_file_in_file_order(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text("milestones:\n"
                    "  - {id: b, date: 2027-01-01, title_vi: Bê, title_en: B}\n"
                    "  - {id: a, date: 2026-01-01, title_vi: A, title_en: A}\n", encoding="utf-8")
    assert [m.id for m in load_milestones(path)] == ["b", "a"]


def test_unreadable_file_names_it(tmp_path):
    with pytest.raises(MilestoneError, match="gone.yaml"):
        load_milestones(tmp_path / "gone.yaml")


ONE = "milestones:\n  - {id: a, date: 2026-01-01, title_vi: A, title_en: A}\n"


@pytest.mark.parametrize("text, line, field, fragment", [
    (ONE + "  - {id: a, date: 2026-02-01, title_vi: B, title_en: B}\n",
     3, "milestones[1].id", "duplicate id 'a' (first on line 2)"),
    ("milestones:\n  - {id: a, date: 2026-02-30, title_vi: A, title_en: A}\n",
     2, None, "not a valid date"),
    ("milestones:\n  - {id: a, date: next year, title_vi: A, title_en: A}\n",
     2, "milestones[0].date", "not a date"),
    ("milestones:\n  - {id: a, date: 2026-01-01, title_en: A}\n",
     2, "milestones[0].title_vi", "required"),
    ("milestones:\n  - {id: a, date: 2026-01-01, title_vi: '', title_en: A}\n",
     2, "milestones[0].title_vi", "expected text"),
    ("milestones:\n  - {id: a, date: 2026-01-01, title_vi: A, title_en: A, owner: x}\n",
     2, "milestones[0].owner", "unknown key"),
    ("milestones:\n  - {id: A-1, date: 2026-01-01, title_vi: A, title_en: A}\n",
     2, "milestones[0].id", "not an id"),
    ("milestones: []\n", 1, "milestones", "empty"),
    ("milestones:\n  - {id: a, date: 2026-01-01\n", 3, None, "YAML"),
])
def test_loader_errors_name_file_line_and_field(text, line, field, fragment):
    with pytest.raises(MilestoneError) as caught:
        parse_milestones(text, "plan.yaml")
    message = str(caught.value)
    assert message.startswith(f"plan.yaml: line {line}: "), message
    if field is not None:
        assert f"field '{field}'" in message, message
    assert fragment in message, message
