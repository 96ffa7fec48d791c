"""The programme's objectives and key results as data, and the progress and pace arithmetic every view shares.

The city runs the programme "by OKR - KPI - digital dashboard": objectives
(Vietnamese and English) each hold key results, and a key result is a
measure over what the store knows (``MEASURES``) with a baseline value, a
target, a start and a due date and the department responsible. The file
(``data/okr.yaml`` by default) is data because targets and owners change by
decision, not by release. This module computes nothing from the store: the
collector measures, and ``progress`` and ``pace`` turn a measured value into
the figures the page, the API, the exports and /metrics all show.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Collection, Mapping, NoReturn, Optional, Sequence

from .datafile import DataFile, DataFileError, read_data

DEFAULT_OKR = "okr.yaml"
_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

# measure -> (what it counts, the parameter it needs or None). Ratios are 0..1; counts are units.
MEASURES: dict[str, tuple[str, Optional[str]]] = {
    "units_ready": ("units whose status is ready", None),
    "units_reporting": ("units with at least one active device reporting", None),
    "units_reaching_hdc": ("units whose devices reached the HDC endpoints at their last check, "
                           "at least `threshold` of the checks", "threshold"),
    "devices_passing_ratio": ("share of active devices passing every hard rule", None),
    "rule_passing_ratio": ("share of active devices not failing the baseline rule `rule`", "rule"),
    "applications_migrated_ratio": ("share of in-scope applications on the HDC or retired", None),
    "work_items_done_ratio": ("share of the work items of milestone `milestone` that are done", "milestone"),
}
PARAMETERS = ("threshold", "rule", "milestone")
STATUSES = ("done", "on_track", "at_risk", "off_track")
# A key result this far behind the straight line from start to due is at risk; further behind, off track.
DEFAULT_AT_RISK_MARGIN = 0.1


class OkrError(DataFileError):
    """An OKR file that cannot be trusted; the message names file, line and field."""


@dataclass(frozen=True)
class KeyResult:
    id: str
    title_vi: str
    title_en: str
    measure: str
    baseline: float
    target: float
    start: dt.date
    due: dt.date
    owner: str
    threshold: Optional[float] = None
    rule: Optional[str] = None
    milestone: Optional[str] = None


@dataclass(frozen=True)
class Objective:
    id: str
    title_vi: str
    title_en: str
    key_results: tuple[KeyResult, ...]


@dataclass(frozen=True)
class Okr:
    objectives: tuple[Objective, ...]
    at_risk_margin: float = DEFAULT_AT_RISK_MARGIN

    def key_results(self) -> list[tuple[Objective, KeyResult]]:
        return [(o, k) for o in self.objectives for k in o.key_results]

    def check_references(self, milestones: Collection[str], rules: Collection[str], source: str) -> None:
        """Refuse a key result naming a milestone or baseline rule the collector does not know
        (checked at start-up, where the milestones and baseline are loaded)."""
        for o, k in self.key_results():
            if k.milestone is not None and k.milestone not in milestones:
                raise OkrError(f"{source}: key result '{o.id}.{k.id}': field 'milestone': unknown milestone "
                               f"{k.milestone!r}; known: {', '.join(milestones)}")
            if k.rule is not None and k.rule not in rules:
                raise OkrError(f"{source}: key result '{o.id}.{k.id}': field 'rule': unknown baseline rule "
                               f"{k.rule!r}")


def progress(value: float, baseline: float, target: float) -> float:
    """How far ``value`` has come from ``baseline`` toward ``target``, 0..1 (a target below the baseline
    counts downwards; a value past the target is 1, a value behind the baseline 0)."""
    if target == baseline:
        return 1.0 if value >= target else 0.0
    return min(1.0, max(0.0, (value - baseline) / (target - baseline)))


def expected(start: dt.date, due: dt.date, today: dt.date) -> float:
    """Where a key result should be today on the straight line from 0 at ``start`` to 1 at the end of ``due``."""
    span = (due - start).days + 1
    return min(1.0, max(0.0, ((today - start).days + 1) / span))


def pace(done: float, start: dt.date, due: dt.date, today: dt.date,
         margin: float = DEFAULT_AT_RISK_MARGIN) -> str:
    """``done`` (progress 0..1) judged against the calendar: done, on track, at risk or off track.

    Past the due day a key result not done is off track, however close.
    """
    if done >= 1.0:
        return "done"
    if today > due:
        return "off_track"
    should = expected(start, due, today)
    if done >= should:
        return "on_track"
    return "at_risk" if done >= should - margin else "off_track"


def parse_okr(text: str, source: str) -> Okr:
    """An OKR file's objectives in file order; the first problem is raised naming line and field."""
    f = DataFile(text, source, OkrError)
    root = f.mapping(f.root, "", 1, ("objectives",), ("at_risk_margin",))
    margin = f.number(root, "at_risk_margin", "at_risk_margin", DEFAULT_AT_RISK_MARGIN, 0, 1)
    items = f.sequence(root["objectives"], "objectives", f.line(root, "objectives"))
    if not items:
        f.fail(f.line(root, "objectives"), "objectives", "empty list")
    seen: dict[str, int] = {}
    objectives = []
    for i, raw in enumerate(items):
        field = f"objectives[{i}]"
        raw = f.mapping(raw, field, f.line(items, i), ("id", "title_vi", "title_en", "key_results"))
        oid = _id(f, raw, field, seen)
        krs = f.sequence(raw["key_results"], f"{field}.key_results", f.line(raw, "key_results"))
        if not krs:
            f.fail(f.line(raw, "key_results"), f"{field}.key_results", "empty list")
        kr_seen: dict[str, int] = {}
        objectives.append(Objective(oid, f.text(raw, "title_vi", f"{field}.title_vi"),
                                    f.text(raw, "title_en", f"{field}.title_en"),
                                    tuple(_key_result(f, kr, f"{field}.key_results[{j}]", f.line(krs, j), kr_seen)
                                          for j, kr in enumerate(krs))))
    return Okr(tuple(objectives), margin)


def _id(f: DataFile, raw: Mapping[str, Any], field: str, seen: dict[str, int]) -> str:
    value = raw["id"]
    if not isinstance(value, str) or not _ID.match(value):
        f.fail(f.line(raw, "id"), f"{field}.id", f"{value!r} is not an id (lower case, digits, '_')")
    if value in seen:
        where = "row" if isinstance(f, _Row) else "line"
        f.fail(f.line(raw, "id"), f"{field}.id", f"duplicate id {value!r} (first on {where} {seen[value]})")
    seen[value] = f.line(raw, "id")
    return value


def _key_result(f: DataFile, raw: Any, field: str, line: int, seen: dict[str, int]) -> KeyResult:
    raw = f.mapping(raw, field, line, ("id", "title_vi", "title_en", "measure", "baseline", "target", "start",
                                       "due", "owner"), PARAMETERS)
    kid = _id(f, raw, field, seen)
    measure = raw["measure"]
    if measure not in MEASURES:
        f.fail(f.line(raw, "measure"), f"{field}.measure",
               f"{measure!r} is not a measure; known: {', '.join(MEASURES)}")
    needed = MEASURES[measure][1]
    for name in PARAMETERS:
        if name == needed and name not in raw:
            f.fail(f.line(raw), f"{field}.{name}", f"required by measure {measure!r}")
        if name != needed and name in raw:
            f.fail(f.line(raw, name), f"{field}.{name}", f"not used by measure {measure!r}")
    high = 1.0 if measure.endswith("_ratio") else 1e6
    start, due = f.day(raw, "start", f"{field}.start"), f.day(raw, "due", f"{field}.due")
    if due < start:
        f.fail(f.line(raw, "due"), f"{field}.due", f"{due} is before the start {start}")
    return KeyResult(
        kid, f.text(raw, "title_vi", f"{field}.title_vi"), f.text(raw, "title_en", f"{field}.title_en"), measure,
        f.number(raw, "baseline", f"{field}.baseline", 0, 0, high),
        f.number(raw, "target", f"{field}.target", 0, 0, high),
        start, due, f.text(raw, "owner", f"{field}.owner"),
        threshold=f.number(raw, "threshold", f"{field}.threshold", 0, 0, 1) if needed == "threshold" else None,
        rule=f.text(raw, "rule", f"{field}.rule") if needed == "rule" else None,
        milestone=f.text(raw, "milestone", f"{field}.milestone") if needed == "milestone" else None)


SHEET_COLUMNS = ("objective", "objective_title_vi", "objective_title_en", "id", "title_vi", "title_en", "measure",
                 *PARAMETERS, "baseline", "target", "start", "due", "owner")
_OBJECTIVE_COLUMNS = ("objective", "objective_title_vi", "objective_title_en")


class _Row(DataFile):
    """One spreadsheet row checked by the YAML file's rules: a complaint names the row and the column."""

    def __init__(self, row: int, values: Mapping[str, Any], source: str):
        self.source, self.error, self.row, self.root = source, OkrError, row, values

    def fail(self, line: int, field: str, message: str) -> NoReturn:
        raise OkrError(f"{self.source}: row {self.row}: column '{field.rsplit('.', 1)[-1]}': {message}")

    def line(self, container: Any, key: Any = None) -> int:  # type: ignore[override]
        return self.row


def parse_okr_rows(rows: Sequence[tuple[int, Mapping[str, Any]]], source: str) -> Okr:
    """OKRs from a sheet, one key result a row (``SHEET_COLUMNS``; empty cells left out, dates as dates).

    Every row is checked before anything is refused, so the message lists every bad row, one line each.
    """
    problems: list[str] = []
    objectives: dict[str, tuple[dict[str, str], list[KeyResult]]] = {}
    seen: dict[str, dict[str, int]] = {}
    for number, values in rows:
        f = _Row(number, values, source)
        try:
            head = f.mapping(values, "", number, _OBJECTIVE_COLUMNS + ("id", "title_vi", "title_en", "measure",
                                                                      "baseline", "target", "start", "due", "owner"),
                             PARAMETERS)
            oid = head["objective"]
            if not isinstance(oid, str) or not _ID.match(oid):
                f.fail(number, "objective", f"{oid!r} is not an id (lower case, digits, '_')")
            titles = {k: f.text(head, k, k) for k in _OBJECTIVE_COLUMNS[1:]}
            first = objectives.setdefault(oid, (titles, []))
            if first[0] != titles:
                f.fail(number, "objective_title_vi", f"objective {oid!r} has other titles on an earlier row")
            kr = {k: v for k, v in head.items() if k not in _OBJECTIVE_COLUMNS}
            first[1].append(_key_result(f, kr, "", number, seen.setdefault(oid, {})))
        except OkrError as exc:
            problems.append(str(exc))
    if problems:
        raise OkrError("\n".join(problems))
    if not objectives:
        raise OkrError(f"{source}: no key result rows under the header")
    return Okr(tuple(Objective(oid, t["objective_title_vi"], t["objective_title_en"], tuple(krs))
                     for oid, (t, krs) in objectives.items()))


def load_okr(path: Optional[Path] = None) -> Okr:
    """Load an OKR file, or the programme's shipped one when ``path`` is None."""
    text, source = read_data(path, DEFAULT_OKR, OkrError)
    return parse_okr(text, source)
