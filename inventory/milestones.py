"""The city's plan as dated milestones, and the deadline arithmetic the page and alerts share.

Dates are data (``data/milestones.yaml``) because plans slip by decision:
changing a date must not need a release. Dates are Hanoi calendar days, and
callers pass today's Hanoi date; a milestone is met or missed at the end of
its day.

Each milestone is judged on its own criteria (``criteria`` in the file):
``devices`` (every device passes the hard rules: a failing device is a work
item, the default), ``applications`` (every in-scope application in use at a
unit has reached at least ``migrating`` or ``moved``, that is on the HDC or
retired) and ``retired`` (the listed catalog applications are retired
wherever they were used, e.g. those the iHanoi super app replaces),
``reachability`` (a share from 0 to 1: the unit reaches the HDC endpoints
from at least that share of its reporting devices), ``register`` (where a
unit has an equipment register, enough of its registered devices report:
the collector's coverage threshold) and ``contradictions`` (no open
contradiction between a unit's declarations and its reports).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Collection, Mapping, Optional

from .datafile import DataFile, DataFileError, read_data

DEFAULT_MILESTONES = "milestones.yaml"
_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
APPLICATION_GOALS = ("migrating", "moved")


class MilestoneError(DataFileError):
    """A milestones file that cannot be trusted."""


@dataclass(frozen=True)
class Milestone:
    id: str
    date: dt.date  # spelled dt.date: inside the class the field name "date" hides the type
    title_vi: str
    title_en: str
    devices: bool = True
    applications: Optional[str] = None  # one of APPLICATION_GOALS, or None: applications are not judged
    retired: tuple[str, ...] = ()
    reachability: Optional[float] = None  # share of a unit's reporting devices that must reach the HDC
    contradictions: bool = False
    register: bool = False  # a unit with a register must reach the coverage threshold

    def days_left(self, as_of: dt.date) -> int:
        """Days until the due date: 0 on the day itself, negative once overdue."""
        return (self.date - as_of).days

    def days_overdue(self, as_of: dt.date) -> int:
        """Days past the due date, 0 until it has passed."""
        return max(0, -self.days_left(as_of))


def parse_milestones(text: str, source: str) -> list[Milestone]:
    f = DataFile(text, source, MilestoneError)
    root = f.mapping(f.root, "", 1, ("milestones",))
    items = f.sequence(root["milestones"], "milestones", f.line(root, "milestones"))
    if not items:
        f.fail(f.line(root, "milestones"), "milestones", "empty list")
    out: list[Milestone] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(items):
        field, line = f"milestones[{i}]", f.line(items, i)
        raw = f.mapping(raw, field, line, ("id", "date", "title_vi", "title_en"), ("criteria",))
        mid = raw["id"]
        if not isinstance(mid, str) or not _ID.match(mid):
            f.fail(f.line(raw, "id"), f"{field}.id", f"{mid!r} is not an id (lower case, digits, '_')")
        if mid in seen:
            f.fail(f.line(raw, "id"), f"{field}.id", f"duplicate id {mid!r} (first on line {seen[mid]})")
        seen[mid] = f.line(raw, "id")
        out.append(Milestone(mid, f.day(raw, "date", f"{field}.date"),
                             f.text(raw, "title_vi", f"{field}.title_vi"),
                             f.text(raw, "title_en", f"{field}.title_en"),
                             **_criteria(f, raw, field)))
    return out


def _criteria(f: DataFile, raw: Mapping[str, Any], field: str) -> dict[str, Any]:
    """What a unit must show for the milestone; devices alone when the file says nothing."""
    if "criteria" not in raw:
        return {}
    field = f"{field}.criteria"
    c = f.mapping(raw["criteria"], field, f.line(raw, "criteria"), (),
                  ("devices", "applications", "retired", "reachability", "contradictions", "register"))
    devices, contradictions, register = (_flag(f, c, name, field) for name in ("devices", "contradictions", "register"))
    reach = c.get("reachability")
    if reach is not None and (isinstance(reach, bool) or not isinstance(reach, (int, float)) or not 0 < reach <= 1):
        f.fail(f.line(c, "reachability"), f"{field}.reachability",
               f"expected a share of devices above 0 and at most 1, got {reach!r}")
    goal = c.get("applications")
    if goal is not None and goal not in APPLICATION_GOALS:
        f.fail(f.line(c, "applications"), f"{field}.applications",
               f"{goal!r} is not one of {', '.join(APPLICATION_GOALS)}")
    retired = f.sequence(c.get("retired", []), f"{field}.retired", f.line(c, "retired"))
    apps = tuple(f.text(retired, i, f"{field}.retired[{i}]") for i in range(len(retired)))
    if not (devices or goal or apps or reach or contradictions or register):
        f.fail(f.line(c), field, "judges nothing: give devices: true, applications, retired, reachability, "
                                 "contradictions: true or register: true")
    return {"devices": devices, "applications": goal, "retired": apps, "contradictions": contradictions,
            "reachability": None if reach is None else float(reach), "register": register}


def _flag(f: DataFile, c: Mapping[str, Any], name: str, field: str) -> bool:
    value = c.get(name, False)
    if not isinstance(value, bool):
        f.fail(f.line(c, name), f"{field}.{name}", f"expected true or false, got {value!r}")
    return value


def check_applications(milestones: list[Milestone], app_ids: Collection[str], source: str) -> None:
    """Refuse a milestone whose ``retired`` names an application the catalog does not have (at start-up,
    where the catalog is loaded)."""
    for m in milestones:
        for app in m.retired:
            if app not in app_ids:
                raise MilestoneError(f"{source}: milestone '{m.id}': field 'criteria.retired': {app!r} is not "
                                     f"an application of the catalog")


def load_milestones(path: Optional[Path] = None) -> list[Milestone]:
    """Load a milestones file, or Hanoi's plan when ``path`` is None; in file order."""
    text, source = read_data(path, DEFAULT_MILESTONES, MilestoneError)
    return parse_milestones(text, source)
