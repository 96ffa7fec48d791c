"""CSV and XLSX downloads of the ranking and of a unit's devices, for meetings.

The rows are built from the same ``overview`` values the page renders, so a
downloaded file and the screen never disagree. CSV is UTF-8 with a byte-order
mark (Excel on Windows otherwise garbles Vietnamese) and plain numbers (no
thousands separators: it is for further processing); XLSX keeps numbers,
percentages and dates typed so a spreadsheet can sort and sum them.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional, Sequence

from collector.i18n import HANOI, Translator
from collector.readiness.overview import UnitDetail, UnitRow
from collector.readiness.workitems import STATES
from collector.register.sheet import TEMPLATE_HEADERS, TEMPLATE_ROWS
from inventory.baseline import Baseline
from inventory.registry import KINDS

GiB = 1024 ** 3


@dataclass(frozen=True)
class Column:
    key: str
    kind: str = "text"  # text | int | ratio | datetime | date | gib | number (as it is: quantities, hours)


@dataclass(frozen=True)
class Table:
    title: str
    columns: Sequence[Column]
    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]


RANKING = (Column("code"), Column("unit"), Column("kind"), Column("status"), Column("devices", "int"),
           Column("ready", "int"), Column("ready_with_conditions", "int"), Column("not_ready", "int"),
           Column("unknown", "int"), Column("silent", "int"), Column("ratio", "ratio"),
           Column("expected", "int"), Column("reporting", "int"), Column("coverage", "ratio"),
           Column("days_overdue", "int"), Column("ready_since", "date"), Column("forecast", "date"),
           Column("apps_migrated", "int"), Column("apps_in_scope", "int"),
           *(Column(f"work_{s}", "int") for s in STATES), Column("last_report", "datetime"), Column("responsible"),
           Column("contact"))

DEVICES = (Column("hostname"), Column("class"), Column("os"), Column("cpu"), Column("memory", "gib"),
           Column("disk", "gib"), Column("media"), Column("verdict"), Column("verdict_since", "datetime"),
           Column("silent"), Column("last_report", "datetime"), Column("failed_rules"), Column("device_id"))


def ranking_table(rows: Sequence[UnitRow], t: Translator) -> Table:
    body = []
    for r in rows:
        s, cover = r.summary, r.summary.coverage
        body.append([s.code, f"{KINDS[s.kind][0 if t.lang == 'vi' else 1]} {s.name}", t(f"kind.{s.kind}"),
                     t(f"unit_status.{s.status}"), s.devices, s.counts["ready"], s.counts["ready_with_conditions"],
                     s.counts["not_ready"], s.counts["unknown"], s.silent, round(s.readiness_ratio, 4),
                     cover.expected, cover.reporting, None if cover.ratio is None else round(cover.ratio, 4),
                     r.days_overdue, r.ready_since, r.forecast.ready_on if r.forecast else None,
                     r.migration.migrated, r.migration.in_scope,
                     *(r.work[k] for k in STATES), s.last_report_at,
                     r.contact.responsible if r.contact else "", (r.contact.contact or "") if r.contact else ""])
    headers = [t(f"export.col.{c.key}") for c in RANKING]
    return Table(t("export.ranking_title"), RANKING, headers, body)


def devices_table(detail: UnitDetail, baseline: Baseline, t: Translator) -> Table:
    titles = {r.id: t.pick(r.title_vi, r.title_en) for r in baseline.all_rules()}
    body = []
    for d in detail.devices:
        failed = "; ".join(f"{titles.get(f['rule_id'], f['rule_id'])}: {t.pick(f['message_vi'], f['message_en'])}"
                           for f in d["failures"])
        body.append([d["hostname"], t(f"device_class.{d['class']}"), d["os"], d["cpu"] or "",
                     _gib(d["memory_bytes"]), _gib(d["system_disk_bytes"]), d["system_disk_media"],
                     t(f"verdict.{d['verdict']}"), datetime.fromisoformat(d["verdict_since"]),
                     t("yes") if d["silent"] else t("no"), datetime.fromisoformat(d["last_collected_at"]),
                     failed, d["device_id"]])
    headers = [t(f"export.col.{c.key}") for c in DEVICES]
    s = detail.row.summary
    return Table(t("export.devices_title", unit=s.name, code=s.code), DEVICES, headers, body)


APPLICATIONS = (Column("app_id"), Column("app"), Column("target"), Column("state"), Column("source"),
                Column("since", "datetime"), Column("installed_devices", "int"), Column("endpoint"),
                Column("declared_by"), Column("note"), Column("reference"), Column("contradictions"))


def applications_table(detail: UnitDetail, t: Translator) -> Table:
    """A unit's applications with their migration state, from the unit view's ``migration``."""
    body = []
    for a in detail.migration.apps:
        d = a.declared
        problems = "; ".join(t(f"migration.contradiction.{c.code}", n=c.devices,
                               date=t.date(c.since) if c.since else "") for c in a.contradictions)
        body.append([a.app.id, t.pick(a.app.name_vi, a.app.name_en), t(f"target.{a.app.target}"),
                     t(f"migration_state.{a.state}"), t(f"migration.source.{a.source}"), a.since,
                     a.evidence.installed_devices, t(f"migration.endpoint.{a.evidence.endpoint}"),
                     d.declared_by if d else "", (d.note or "") if d else "", (d.reference or "") if d else "",
                     problems])
    headers = [t(f"export.col.app.{c.key}") for c in APPLICATIONS]
    s = detail.row.summary
    return Table(t("export.applications_title", unit=s.name, code=s.code), APPLICATIONS, headers, body)


def register_template() -> Table:
    """The equipment register sheet an IT officer fills in (docs/register.md), with example rows to overwrite."""
    return register_sheet(TEMPLATE_ROWS)


def register_sheet(rows: Sequence[Sequence[Any]]) -> Table:
    """A register sheet with the template's columns: what ``hdc-collector register import`` reads."""
    columns = [Column(h, "int" if h in ("expected", "needed") else "text") for h in TEMPLATE_HEADERS]
    return Table("register", columns, TEMPLATE_HEADERS, rows)


def _gib(value: Optional[int]) -> Optional[float]:
    return round(value / GiB, 1) if value is not None else None


def _plain(value: Any, column: Column) -> Any:
    if value is None:
        return ""
    if column.kind == "datetime":
        return value.astimezone(HANOI).strftime("%d/%m/%Y %H:%M")
    if column.kind == "date":
        return value.strftime("%d/%m/%Y")
    return value


# What a spreadsheet may take for the start of a formula (OWASP, "CSV Injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(value: Any) -> Any:
    """Text that a spreadsheet would evaluate, made plain text with a leading apostrophe (OWASP's advice for
    CSV); numbers stay numbers. What a report says is data: a hostname must never become a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(table: Table) -> bytes:
    """The one CSV writer of every download: UTF-8 with a BOM (Excel reads Vietnamese right), no formulas."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_inert(h) for h in table.headers])
    for row in table.rows:
        writer.writerow([_inert(_plain(v, c)) for v, c in zip(row, table.columns)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(table: Table) -> bytes:
    """The one XLSX writer of every download: text cells are strings whatever they begin with (openpyxl would
    take ``=...`` for a formula), marked so that editing one in Excel keeps it text; numbers stay numbers."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = table.title[:31].replace("/", "-")
    sheet.append(list(table.headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    formats = {"ratio": "0.0%", "datetime": "dd/mm/yyyy hh:mm", "date": "dd/mm/yyyy", "gib": "0.0", "int": "#,##0"}
    for row in table.rows:
        sheet.append([v.astimezone(HANOI).replace(tzinfo=None) if c.kind == "datetime" and v else v
                      for v, c in zip(row, table.columns)])
    for cells in sheet.iter_rows():
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"
                if cell.value.startswith(_FORMULA_STARTS):
                    cell.quotePrefix = True
    for index, column in enumerate(table.columns, start=1):
        if column.kind in formats:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = formats[column.kind]
        width = max([len(str(table.headers[index - 1]))] + [len(str(r[index - 1] or "")) for r in table.rows[:200]])
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = min(60, max(8, width + 2))
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
