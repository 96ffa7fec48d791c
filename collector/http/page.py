"""The readiness page: overview, unit drill-down, work items and the CSV/XLSX downloads.

Everything is rendered on the server from ``overview``: no script runs in the
browser, sorting and filtering are links and a GET form, so every view has a
URL a leader can send to a colleague, and the strict Content-Security-Policy
below holds. Nothing here changes state.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Optional

from flask import Blueprint, Response, g, render_template, request

from collector import __version__
from collector.context import ctx
from collector.http.links import link, url_self
from collector.i18n import HANOI, Translator, choose_lang
from collector.readiness.charts import Line, Marker, line_chart, projected
from collector.readiness.export import (
    applications_table,
    devices_table,
    ranking_table,
    register_template,
    to_csv,
    to_xlsx,
)
from collector.readiness.forecasts import NO_HISTORY, NOT_YET_READY, series_forecast
from collector.readiness.overview import CityOverview, PageNumbers, Series, UnitDetail, unit_detail
from collector.readiness.plan import action_title, plan_table
from collector.readiness.ranking import SORT_KEYS, STATUS_ORDER, RankingQuery
from collector.readiness.workitems import WorkItem
from inventory.equipment import REGISTER_CLASSES
from inventory.forecast import Forecast

bp = Blueprint("page", __name__)

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
# Columns whose first click sorts ascending; counts sort largest first.
_ASCENDING_FIRST = {"status", "code", "name", "ratio", "forecast"}
# Rows a page of a unit's long lists shows (GLPI and Fleet list a hundred or fewer a page): its device table
# (``?page=``), silent devices (``?silent_page=``) and work items (``?items_page=``).
ROWS_PER_PAGE = 100
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


@bp.app_template_filter("fromiso")
def fromiso(value: str) -> datetime:
    """Moments in ``queries.devices_of_unit`` rows are ISO strings (they are JSON too)."""
    return datetime.fromisoformat(value)


def _translator() -> Translator:
    return Translator(choose_lang(request.args.get("lang")))


def _render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    t = _translator()
    return render_template(template, _=t, t=t, lang=t.lang, link=link, url_self=url_self,
                           stale_days=ctx().settings.stale_after_days, version=__version__, statuses=STATUS_ORDER,
                           coverage_threshold=ctx().settings.coverage_threshold, **context), status


def _deadline_marker(t: Translator) -> list[Marker]:
    """The equipment deadline (the first milestone): the date the device charts are read against."""
    deadline = ctx().milestones[0].date
    return [Marker(deadline, t("chart.deadline", date=t.date(deadline)))]


def _burndown(history: Series, t: Translator, forecast: Optional[Forecast] = None) -> str:
    deadline = ctx().milestones[0].date
    not_ready = history.values["not_ready"]
    plan = None
    if not_ready and history.days[0] < deadline:
        peak = max(range(len(not_ready)), key=lambda i: (not_ready[i], -i))
        if history.days[peak] < deadline:
            plan = (peak, not_ready[peak], (deadline - history.days[0]).days)
    days, projection = projected(history.days, _not_yet_ready(history), forecast)
    return line_chart("burndown", t("chart.burndown.title"), t("chart.burndown.desc", date=t.date(deadline)),
                      days, [Line("not-ready", t("chart.not_ready"), not_ready)], t,
                      _deadline_marker(t), plan, projection=projection)


def _not_yet_ready(history: Series) -> list[int]:
    """The count the forecast extrapolates (``forecasts.NOT_YET_READY``), where its projection starts."""
    return [sum(counts) for counts in zip(*(history.values[v] for v in NOT_YET_READY))]


def _trend(history: Series, t: Translator, forecast: Forecast) -> dict[str, Any]:
    """A unit's chart, with its forecast projected when there is one to draw (the legend names it then)."""
    passing = [a + b for a, b in zip(history.values["ready"], history.values["ready_with_conditions"])]
    days, projection = projected(history.days, _not_yet_ready(history), forecast)
    chart = line_chart("trend", t("chart.trend.title"), t("chart.trend.desc"), days,
                       [Line("passing", t("chart.passing"), passing),
                        Line("not-ready", t("chart.not_ready"), history.values["not_ready"]),
                        Line("unknown", t("chart.unknown"), history.values["unknown"])], t,
                       _deadline_marker(t), projection=projection)
    return {"trend": chart, "projected": projection is not None}


def _monthly(history: Series, keys: tuple[str, ...]) -> list[tuple[Any, dict[str, int]]]:
    """The first day of each month (and the last day observed), for the chart's data table."""
    n = len(history.values[keys[0]])
    picks = [i for i in range(n) if history.days[i].day == 1] + [n - 1]
    return [(history.days[i], {k: history.values[k][i] for k in keys}) for i in dict.fromkeys(picks) if i >= 0]


def _sortlink(query: RankingQuery, column: str) -> str:
    if query.sort == column:
        order = "asc" if query.desc else "desc"
    else:
        order = "asc" if column in _ASCENDING_FIRST else "desc"
    args = {**query.args(), "sort": column, "order": order}
    return link("page.index", **args)


def _kept_page(overview: CityOverview, render: Callable[[], tuple[str, int]]) -> tuple[str, int]:
    """A page made from the overview alone, rendered once per composition, address and viewer (``KeptPages``)."""
    return ctx().kept_pages.get(overview, (request.full_path, g.get("viewer")), render)


@bp.get("/")
def index():
    overview = ctx().overview()

    def render() -> tuple[str, int]:
        t = _translator()
        query = RankingQuery.from_args(request.args, strict=False)
        plan = _city_plan(overview)
        return _render("index.html", o=overview, rows=query.apply(overview.rows), query=query,
                       sort_keys=SORT_KEYS, sort_link=lambda col: _sortlink(query, col),
                       burndown=_burndown(overview.history, t, plan["city_forecast"]),
                       monthly=_monthly(overview.history, ("not_ready",)), now=overview.now, **plan)

    return _kept_page(overview, render)


def _unit(code: str, pages: Optional[PageNumbers] = None) -> Optional[UnitDetail]:
    """A unit's drill-down: all its devices (the downloads), or a page of each long list (the page)."""
    if code not in ctx().registry:
        return None
    return unit_detail(ctx(), code, datetime.now(timezone.utc), request.args.get("milestone"), pages)


def _page_number(name: str) -> int:
    """A page number from the query string: a whole number from 1; anything else is the first page (a link cut
    short still opens)."""
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() and 0 < len(raw) < 7 else 1


@bp.get("/units/<code>")
def unit(code: str):
    t = _translator()
    numbers = PageNumbers(_page_number("page"), _page_number("silent_page"), _page_number("items_page"),
                          ROWS_PER_PAGE)
    detail = _unit(code, numbers)
    if detail is None or detail.listing is None:
        return _render("not_found.html", 404, code=code, now=datetime.now(timezone.utc))
    keys = ("ready", "ready_with_conditions", "not_ready", "unknown")
    titles = {r.id: r for r in ctx().baseline.all_rules()}
    listing = detail.listing
    return _render("unit.html", d=detail, s=detail.row.summary,
                   **_trend(detail.history, t, detail.row.forecast or NO_HISTORY),
                   monthly=_monthly(detail.history, keys), active=_active_rows(listing.devices.rows, t, titles),
                   listing=listing, page_link=lambda name, n: url_self(**{name: n if n > 1 else None}),
                   silent=[dict(dev, reported=t.date(fromiso(dev["last_collected_at"])))
                           for dev in listing.silent.rows],
                   work_rows=_work_rows(detail.work_items, t), now=detail.now,
                   deadline=ctx().milestones[0].date, class_name=lambda cls: _class_name(t, cls),
                   **_unit_plan(detail, t))


# The rows of a unit page's long lists carry their words and dates worked out here: a call from the template costs
# several times a call from Python, and a page shows 300 rows (the text, escaped by the template, is the same).
def _active_rows(rows: list[dict], t: Translator, titles: dict[str, Any]) -> list[dict]:
    """A page of active devices, each with its class, verdict's start, failed rules and machine in words."""
    gib = 1073741824
    not_read = t("unit.not_read")
    out = []
    for dev in rows:
        machine = f"RAM {t.number(dev['memory_bytes'] / gib, 1)} GiB" if dev["memory_bytes"] else ""
        if dev["system_disk_bytes"]:
            machine += (f" · {t('unit.disk')} {t.number(dev['system_disk_bytes'] / gib, 0)} GiB "
                        f"{dev['system_disk_media'].upper()}")
        failures = [(f"{f['severity']} {f['outcome']}",
                     t.pick(titles[f["rule_id"]].title_vi, titles[f["rule_id"]].title_en) if f["rule_id"] in titles
                     else f["rule_id"],
                     t(f"outcome.{f['outcome']}.{f['severity']}"),
                     t("unit.measured_required", measured=not_read if f.get("measured") is None else f["measured"],
                       required=f.get("required", "")),
                     t.pick(f.get("message_vi"), f.get("message_en"))) for f in dev["failures"]]
        out.append(dict(dev, class_label=t(f"device_class.{dev['class']}"), problems=failures, machine=machine,
                        since_text=t("unit.since", when=t.date(fromiso(dev["verdict_since"]))),
                        reported=t.date(fromiso(dev["last_collected_at"]))))
    return out


def _work_rows(items: list[WorkItem], t: Translator) -> list[tuple[WorkItem, str, str, str]]:
    """A page of work items, each with its first failure's and its fix's dates and its state in words."""
    return [(w, t.date(w.opened_at), t.date(w.done_at), t(f"work.{w.state}")) for w in items]


def _city_plan(overview: CityOverview) -> dict[str, Any]:
    """The main page's plan figures: the city's total and its forecast, from the plan the API gives."""
    plan = ctx().plan()
    return {"city_plan_total": sum(u.total_vnd for u in plan.units.values()), "price_list": plan.price_list,
            "city_forecast": series_forecast(overview.history.days, overview.history.values)}


def _unit_plan(detail: UnitDetail, t: Translator) -> dict[str, Any]:
    """A unit page's plan section: its bill of quantities, its forecast, and the actions' titles."""
    actions = ctx().plan_book.actions
    code = detail.row.summary.code
    return {"plan": ctx().plan().units[code], "forecast": detail.row.forecast,
            "action_title": lambda action: action_title(action, actions, t),
            "today": detail.now.astimezone(HANOI).date()}


def _class_name(t: Translator, device_class: str) -> str:
    """A device class in the reader's words; a class no register knows (a foreign agent's) as it was reported."""
    return t(f"device_class.{device_class}") if device_class in REGISTER_CLASSES else device_class


@bp.get("/work-items")
def work_items():
    overview = ctx().overview(request.args.get("milestone"))
    rows = sorted(overview.rows, key=lambda r: (-r.work["overdue"], -r.work["in_progress"], r.summary.code))
    return _kept_page(overview, lambda: _render("work_items.html", o=overview, rows=rows, now=overview.now))


def _download(body: bytes, mimetype: str, filename: str) -> Response:
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/export/units.<fmt>")
def export_units(fmt: str):
    t = _translator()
    query = RankingQuery.from_args(request.args, strict=False)
    overview = ctx().overview(request.args.get("milestone"))
    table = ranking_table(query.apply(overview.rows), t)
    stamp = overview.now.strftime("%Y%m%d")
    if fmt == "csv":
        return _download(to_csv(table), "text/csv", f"hdc-units-{stamp}.csv")
    if fmt == "xlsx":
        return _download(to_xlsx(table), XLSX, f"hdc-units-{stamp}.xlsx")
    return _render("not_found.html", 404, code=f"units.{fmt}", now=overview.now)


@bp.get("/export/plan.<fmt>")
def export_plan(fmt: str):
    """The procurement estimate (docs/plan.md): every unit's bill of quantities, or one unit's with ``ward``."""
    c, t = ctx(), _translator()
    code = request.args.get("ward")
    if fmt not in ("csv", "xlsx") or (code is not None and code not in c.registry):
        return _render("not_found.html", 404, code=code or f"plan.{fmt}", now=datetime.now(timezone.utc))
    plan = c.plan()
    table = plan_table(plan, [code] if code else [u.code for u in c.registry], c.registry, c.plan_book.actions, t)
    name = f"hdc-plan-{code + '-' if code else ''}{plan.day.strftime('%Y%m%d')}.{fmt}"
    return _download(to_csv(table) if fmt == "csv" else to_xlsx(table), "text/csv" if fmt == "csv" else XLSX, name)


@bp.get("/register-template.<fmt>")
def register_template_download(fmt: str):
    """The equipment register template (docs/register.md), to fill in and import with 'hdc-collector register'."""
    if fmt == "csv":
        return _download(to_csv(register_template()), "text/csv", "hdc-register-template.csv")
    if fmt == "xlsx":
        return _download(to_xlsx(register_template()), XLSX, "hdc-register-template.xlsx")
    return _render("not_found.html", 404, code=f"register-template.{fmt}", now=ctx().overview().now)


@bp.get("/units/<code>/applications.<fmt>")
def export_applications(code: str, fmt: str):
    t = _translator()
    detail = _unit(code)
    if detail is None or fmt not in ("csv", "xlsx"):
        return _render("not_found.html", 404, code=code, now=datetime.now(timezone.utc))
    table = applications_table(detail, t)
    name = f"hdc-{code}-applications-{detail.now.strftime('%Y%m%d')}.{fmt}"
    return _download(to_csv(table) if fmt == "csv" else to_xlsx(table), "text/csv" if fmt == "csv" else XLSX, name)


@bp.get("/units/<code>/devices.<fmt>")
def export_devices(code: str, fmt: str):
    t = _translator()
    detail = _unit(code)
    if detail is None or fmt not in ("csv", "xlsx"):
        return _render("not_found.html", 404, code=code, now=datetime.now(timezone.utc))
    table = devices_table(detail, ctx().baseline, t)
    name = f"hdc-{code}-devices-{detail.now.strftime('%Y%m%d')}.{fmt}"
    if fmt == "csv":
        return _download(to_csv(table), "text/csv", name)
    return _download(to_xlsx(table), XLSX, name)
