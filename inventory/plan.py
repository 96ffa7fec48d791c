"""The upgrade plan: the actions each device needs, and a unit's bill of quantities priced by the price list.

Failed checks become actions through ``data/actions.yaml`` (data, so the city
can change what fixes what, or the labour it takes, without a release). A
device's plan is the cheapest set of actions that makes it pass: the
actions its failures call for, or a replacement machine when one of them
calls for it (a CPU Windows 11 does not support, a machine past its age) or
when it costs less than the parts and labour; a replacement absorbs every
other action, so a replaced machine gets no memory module. A Windows client
on an OS out of support gets the Windows 11 upgrade when, once its other
actions are done, it meets Windows 11's requirements
(:mod:`inventory.win11`), a replacement when it cannot, and stays
"unresolved" (listed, not priced) while a requirement is unknown.

A unit's plan adds its devices' plans into a bill of quantities (item,
quantity, unit price, amount, the devices each line is for), plus the
machines it needs but does not own ("buy N machines of class X"), plus the
technicians' hours priced as one line. Amounts are whole đồng.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Union

from .baseline import DEVICE_CLASSES, Baseline, parse_size
from .datafile import DataFile, DataFileError, read_data
from .evaluate import Verdict
from .prices import PriceLine, PriceList
from .win11 import CHECK_IDS, MIN_MEMORY, MIN_STORAGE, Win11Result

DEFAULT_ACTIONS = "actions.yaml"
REPLACE, BUY, WIN11_UPGRADE, UPGRADE_OS = "replace_machine", "buy_machine", "upgrade_windows11", "upgrade_os"
LABOUR = "labour"
_FIXABLE = ("fail", "firmware_setting")
_FILLS = ("memory", "system_disk")  # modules added to what is installed; one disk replacing the system disk
_BEFORE_11 = ("XP", "Vista", "7", "8", "8.1", "10")  # Windows client versions as the lifecycle table names them


class ActionsError(DataFileError):
    """An actions file that cannot be trusted."""


class PlanError(ValueError):
    """The plan cannot be priced (an item without a price in force); the message names item, action and date."""


# --------------------------------------------------------------------------- the actions file

@dataclass(frozen=True)
class Action:
    id: str
    title_vi: str
    title_en: str
    labour_hours: float
    item: Optional[str] = None
    choose: Mapping[str, int] = field(default_factory=dict)
    fills: Optional[str] = None
    by_class: Mapping[str, Optional[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Actions:
    labour_item: str
    actions: Mapping[str, Action]
    baseline_rules: Mapping[str, str]
    class_rules: Mapping[str, Mapping[str, str]]
    win11_checks: Mapping[str, Mapping[str, str]]
    source: str

    def for_rule(self, device_class: str, rule_id: str) -> Optional[str]:
        return self.class_rules.get(device_class, {}).get(rule_id) or self.baseline_rules.get(rule_id)

    def for_check(self, check_id: str, outcome: str) -> Optional[str]:
        return self.win11_checks.get(check_id, {}).get(outcome)


def load_actions(path: Optional[Union[str, Path]] = None) -> Actions:
    """Load an actions file, or the shipped one when ``path`` is None."""
    text, source = read_data(path, DEFAULT_ACTIONS, ActionsError)
    return parse_actions(text, source)


def parse_actions(text: str, source: str) -> Actions:
    f = DataFile(text, source, ActionsError)
    root = f.mapping(f.root, "", 1, ("labour_item", "actions", "baseline_rules", "win11_checks"), ("class_rules",))
    raw_actions = f.mapping(root["actions"], "actions", f.line(root, "actions"))
    actions = {name: _parse_action(f, raw_actions, name) for name in raw_actions}
    for needed in (REPLACE, BUY, WIN11_UPGRADE):
        if needed not in actions:
            f.fail(f.line(raw_actions), f"actions.{needed}", "required: the plan relies on it")
    for needed in (REPLACE, BUY):
        if not actions[needed].by_class:
            f.fail(f.line(raw_actions, needed), f"actions.{needed}.by_class", "required")

    def action_ref(container: Mapping[str, Any], key: str, where: str) -> str:
        value = container[key]
        if value not in actions:
            f.fail(f.line(container, key), where, f"{value!r} is not an action; known: {', '.join(actions)}")
        return value

    rules_raw = f.mapping(root["baseline_rules"], "baseline_rules", f.line(root, "baseline_rules"))
    baseline_rules = {rule: action_ref(rules_raw, rule, f"baseline_rules.{rule}") for rule in rules_raw}
    class_rules: dict[str, dict[str, str]] = {}
    classes_raw = f.mapping(root.get("class_rules", {}), "class_rules", f.line(root, "class_rules"))
    for cls in classes_raw:
        if cls not in DEVICE_CLASSES:
            f.fail(f.line(classes_raw, cls), f"class_rules.{cls}",
                   f"not a device class; known: {', '.join(DEVICE_CLASSES)}")
        section = f.mapping(classes_raw[cls], f"class_rules.{cls}", f.line(classes_raw, cls))
        class_rules[cls] = {rule: action_ref(section, rule, f"class_rules.{cls}.{rule}") for rule in section}
    checks_raw = f.mapping(root["win11_checks"], "win11_checks", f.line(root, "win11_checks"))
    win11_checks: dict[str, dict[str, str]] = {}
    for check in checks_raw:
        if check not in CHECK_IDS:
            f.fail(f.line(checks_raw, check), f"win11_checks.{check}",
                   f"not a Windows 11 check; known: {', '.join(CHECK_IDS)}")
        section = f.mapping(checks_raw[check], f"win11_checks.{check}", f.line(checks_raw, check), (), _FIXABLE)
        win11_checks[check] = {o: action_ref(section, o, f"win11_checks.{check}.{o}") for o in section}
    return Actions(f.text(root, "labour_item", "labour_item"), actions, baseline_rules, class_rules, win11_checks,
                   source)


def _parse_action(f: DataFile, actions: Mapping[str, Any], name: str) -> Action:
    where = f"actions.{name}"
    raw = f.mapping(actions[name], where, f.line(actions, name), ("title_vi", "title_en", "labour_hours"),
                    ("item", "choose", "fills", "by_class"))
    if len({"item", "choose", "by_class"} & set(raw)) > 1:
        f.fail(f.line(raw), where, "give at most one of item, choose, by_class")
    hours = raw["labour_hours"]
    if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not 0 <= hours <= 100:
        f.fail(f.line(raw, "labour_hours"), f"{where}.labour_hours",
               f"{hours!r} is not a number of hours from 0 to 100")
    choose: dict[str, int] = {}
    if "choose" in raw:
        sizes = f.mapping(raw["choose"], f"{where}.choose", f.line(raw, "choose"))
        for item in sizes:
            try:
                choose[str(item)] = parse_size(sizes[item])
            except ValueError as exc:
                f.fail(f.line(sizes, item), f"{where}.choose.{item}", str(exc))
        if not choose:
            f.fail(f.line(raw, "choose"), f"{where}.choose", "empty")
    if ("choose" in raw) != ("fills" in raw) or raw.get("fills", "memory") not in _FILLS:
        f.fail(f.line(raw, "fills") if "fills" in raw else f.line(raw), f"{where}.fills",
               f"give it with choose, as one of {', '.join(_FILLS)}")
    by_class: dict[str, Optional[str]] = {}
    if "by_class" in raw:
        classes = f.mapping(raw["by_class"], f"{where}.by_class", f.line(raw, "by_class"), (), DEVICE_CLASSES)
        by_class = {cls: None if classes[cls] is None else f.text(classes, cls, f"{where}.by_class.{cls}")
                    for cls in classes}
    return Action(name, f.text(raw, "title_vi", f"{where}.title_vi"), f.text(raw, "title_en", f"{where}.title_en"),
                  float(hours), f.text(raw, "item", f"{where}.item") if "item" in raw else None, choose,
                  raw.get("fills"), by_class)


# --------------------------------------------------------------------------- pricing

class Pricer:
    """The actions and the prices in force on one day: what each action costs."""

    def __init__(self, actions: Actions, price_list: PriceList, day: date):
        self.actions, self.day, self.price_list = actions, day, price_list
        self.prices = price_list.prices_on(day)
        self.labour_rate = self.line(actions.labour_item, LABOUR).unit_price_vnd

    def line(self, item: str, action: str) -> PriceLine:
        if item not in self.prices:
            raise PlanError(f"{self.price_list.source}: item {item!r} (action {action}) has no price in force on "
                            f"{self.day.isoformat()}")
        return self.prices[item]

    def cost(self, step: "DeviceAction") -> int:
        parts = self.line(step.item, step.action).unit_price_vnd * step.quantity if step.item else 0
        return parts + round(step.labour_hours * self.labour_rate)

    def describe(self) -> dict[str, Any]:
        return self.price_list.describe(self.day)


# --------------------------------------------------------------------------- one device

@dataclass(frozen=True)
class DeviceAction:
    action: str
    item: Optional[str]
    quantity: int
    labour_hours: float
    fixes: tuple[str, ...]


@dataclass(frozen=True)
class DevicePlan:
    device_id: str
    device_class: str
    actions: tuple[DeviceAction, ...]
    unresolved: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"device_id": self.device_id, "device_class": self.device_class, "unresolved": list(self.unresolved),
                "actions": [{"action": a.action, "item": a.item, "quantity": a.quantity,
                             "labour_hours": a.labour_hours, "fixes": list(a.fixes)} for a in self.actions]}


def plan_device(device_id: str, report: Mapping[str, Any], verdict: Verdict, win11: Win11Result, baseline: Baseline,
                pricer: Pricer) -> DevicePlan:
    """The cheapest actions that make the device pass its baseline (and reach Windows 11 where it must)."""
    cls = verdict.device_class
    needs: dict[str, list[str]] = {}
    unresolved = [f"rule:{r.rule_id}" for r in verdict.results if r.outcome == "unknown"]
    for result in verdict.results:
        if result.outcome == "fail":
            action = pricer.actions.for_rule(cls, result.rule_id)
            if action is None:
                unresolved.append(f"rule:{result.rule_id}")
            else:
                needs.setdefault(action, []).append(f"rule:{result.rule_id}")
    if UPGRADE_OS in needs and _windows_before_11(report):
        _to_windows11(needs, unresolved, win11, pricer.actions)
    order = list(pricer.actions.actions)
    steps = [_step(pricer, name, needs[name], cls, report, baseline) for name in sorted(needs, key=order.index)]
    replacement = _step(pricer, REPLACE, [f for s in steps for f in s.fixes], cls, report, baseline)
    if steps and (REPLACE in needs or pricer.cost(replacement) < sum(pricer.cost(s) for s in steps)):
        steps, unresolved = [replacement], []
    return DevicePlan(device_id, cls, tuple(steps), tuple(unresolved))


def _windows_before_11(report: Mapping[str, Any]) -> bool:
    raw_os = report.get("os")
    os: Mapping[str, Any] = raw_os if isinstance(raw_os, Mapping) else {}
    return os.get("family") == "windows" and os.get("id") == "windows" and os.get("version") in _BEFORE_11


def _to_windows11(needs: dict[str, list[str]], unresolved: list[str], win11: Win11Result, actions: Actions) -> None:
    """An out-of-support Windows client moves to Windows 11: its unmet requirements become actions too."""
    fixes = needs.pop(UPGRADE_OS)
    unknown = [f"win11:{c.id}" for c in win11.checks if c.outcome == "unknown"]
    for check in win11.checks:
        if check.outcome in _FIXABLE:
            action = actions.for_check(check.id, check.outcome)
            if action is None:
                unknown.append(f"win11:{check.id}")
            else:
                needs.setdefault(action, []).append(f"win11:{check.id}")
    if REPLACE in needs:
        needs[REPLACE].extend(fixes)
    elif unknown:
        unresolved.extend(unknown)
    else:
        needs.setdefault(WIN11_UPGRADE, []).extend(fixes)


def _step(pricer: Pricer, name: str, fixes: list[str], cls: str, report: Mapping[str, Any],
          baseline: Baseline) -> DeviceAction:
    action = pricer.actions.actions[name]
    item, quantity = action.item, 1
    if action.by_class:
        item = action.by_class.get(cls, action.by_class.get("other"))
    elif action.choose:
        need = _shortfall(action.fills, fixes, cls, report, baseline)
        item, quantity = _choose(pricer, action, need, exact_count=action.fills == "system_disk")
    return DeviceAction(name, item, quantity, action.labour_hours, tuple(dict.fromkeys(fixes)))


def _shortfall(fills: Optional[str], fixes: list[str], cls: str, report: Mapping[str, Any], baseline: Baseline) -> int:
    """Bytes to add (memory) or the size the new disk needs, from every requirement the action answers."""
    win11 = any(f.startswith("win11:") for f in fixes)
    rules = baseline.rules_for(cls)
    raw_hardware = report.get("hardware")
    hardware: Mapping[str, Any] = raw_hardware if isinstance(raw_hardware, Mapping) else {}
    if fills == "memory":
        targets = [_tolerated(r) for r in rules if r.kind == "min_memory"] + ([MIN_MEMORY] if win11 else [])
        memory = hardware.get("memory_bytes")
        have = memory if isinstance(memory, int) else 0
        return max(0, max(targets, default=0) - have)
    raw_disk = hardware.get("system_disk")
    disk: Mapping[str, Any] = raw_disk if isinstance(raw_disk, Mapping) else {}
    size, free = disk.get("size_bytes"), disk.get("free_bytes")
    used = size - free if isinstance(size, int) and isinstance(free, int) else 0
    free_min = max((r.params["min"] for r in rules if r.kind == "min_system_disk_free"), default=0)
    targets = [_tolerated(r) for r in rules if r.kind == "min_system_disk"] + ([MIN_STORAGE] if win11 else [])
    return max(targets + [used + free_min])


def _tolerated(rule: Any) -> int:
    return math.ceil(rule.params["min"] * (1 - rule.params.get("tolerance_percent", 0.0) / 100))


def _choose(pricer: Pricer, action: Action, need: int, exact_count: bool) -> tuple[str, int]:
    """Cheapest (count x item) reaching ``need``; one item when ``exact_count`` (a disk), the largest if none is
    enough."""
    options = []
    for item, size in action.choose.items():
        count = 1 if exact_count else max(1, math.ceil(need / size))
        if count * size >= need:
            options.append((pricer.line(item, action.id).unit_price_vnd * count, count, item))
    if not options:
        return max(action.choose, key=lambda item: action.choose[item]), 1
    _, count, item = min(options)
    return item, count


# --------------------------------------------------------------------------- a unit

@dataclass(frozen=True)
class PlanLine:
    action: str
    item: Optional[str]
    quantity: float
    unit_price_vnd: int
    amount_vnd: int
    labour_hours: float
    device_ids: tuple[str, ...]
    description_vi: str
    unit_of_measure: str
    basis: str

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "item": self.item, "quantity": self.quantity,
                "unit_price_vnd": self.unit_price_vnd, "amount_vnd": self.amount_vnd,
                "labour_hours": self.labour_hours, "device_ids": list(self.device_ids),
                "description_vi": self.description_vi, "unit_of_measure": self.unit_of_measure, "basis": self.basis}


@dataclass(frozen=True)
class UnitPlan:
    lines: tuple[PlanLine, ...]
    total_vnd: int
    labour_hours: float
    labour_rate_vnd: int
    unresolved: Mapping[str, tuple[str, ...]]
    price_list: Mapping[str, Any]

    def cost_by_action(self) -> dict[str, int]:
        """Parts plus the action's share of labour, per action (for ``hdc_ward_plan_cost_vnd{action}``)."""
        out: dict[str, int] = {}
        for line in self.lines:
            if line.action != LABOUR:
                out[line.action] = (out.get(line.action, 0) + line.amount_vnd
                                    + round(line.labour_hours * self.labour_rate_vnd))
        return out

    def to_dict(self) -> dict[str, Any]:
        """The API shape of ``GET /api/v1/wards/<code>/plan``."""
        return {"items": [line.to_dict() for line in self.lines], "total_vnd": self.total_vnd,
                "labour_hours": self.labour_hours, "price_list": dict(self.price_list),
                "unresolved": {device: list(checks) for device, checks in self.unresolved.items()}}


def plan_unit(devices: Iterable[DevicePlan], pricer: Pricer, shortfall: Optional[Mapping[str, int]] = None) -> UnitPlan:
    """The unit's bill of quantities: its devices' actions, ``shortfall`` (class -> machines lacking), labour."""
    grouped: dict[tuple[str, Optional[str]], list] = {}
    unresolved = {}
    for plan in devices:
        if plan.unresolved:
            unresolved[plan.device_id] = plan.unresolved
        for step in plan.actions:
            entry = grouped.setdefault((step.action, step.item), [0, 0.0, []])
            entry[0] += step.quantity
            entry[1] += step.labour_hours
            entry[2].append(plan.device_id)
    buy = pricer.actions.actions[BUY]
    for cls, count in sorted((shortfall or {}).items()):
        if count > 0:
            entry = grouped.setdefault((BUY, buy.by_class.get(cls, buy.by_class.get("other"))), [0, 0.0, []])
            entry[0] += count
            entry[1] += count * buy.labour_hours
    order = list(pricer.actions.actions)
    lines = [_line(pricer, action, item, *grouped[(action, item)])
             for action, item in sorted(grouped, key=lambda k: (order.index(k[0]), k[1] or ""))]
    hours = round(sum(line.labour_hours for line in lines), 2)
    if hours:
        lines.append(_line(pricer, LABOUR, pricer.actions.labour_item, hours, 0.0,
                           sorted({d for line in lines for d in line.device_ids})))
    return UnitPlan(tuple(lines), sum(line.amount_vnd for line in lines), hours, pricer.labour_rate, unresolved,
                    pricer.describe())


def _line(pricer: Pricer, action: str, item: Optional[str], quantity: float, hours: float,
          device_ids: list[str]) -> PlanLine:
    if item is None:
        title = pricer.actions.actions[action].title_vi
        return PlanLine(action, None, quantity, 0, 0, hours, tuple(device_ids), title, "máy", "")
    price = pricer.line(item, action)
    return PlanLine(action, item, quantity, price.unit_price_vnd, round(quantity * price.unit_price_vnd), hours,
                    tuple(device_ids), price.description_vi, price.unit_of_measure, price.basis)


def plan_city(units: Mapping[str, UnitPlan]) -> dict[str, Any]:
    """City totals and per-unit totals (``GET /api/v1/plan``)."""
    by_action: dict[str, int] = {}
    for plan in units.values():
        for action, amount in plan.cost_by_action().items():
            by_action[action] = by_action.get(action, 0) + amount
    return {"total_vnd": sum(p.total_vnd for p in units.values()),
            "labour_hours": round(sum(p.labour_hours for p in units.values()), 2),
            "by_action": by_action,
            "units": [{"unit_code": code, "total_vnd": p.total_vnd, "labour_hours": p.labour_hours}
                      for code, p in sorted(units.items())]}
