"""The OKR views: ``GET /api/v1/okr``, the ``/okr`` page (Vietnamese first, printable on A4) and its downloads.

All three render one ``OkrProgress`` (``Context.okr_progress``), the values
/metrics exposes too. The page is rendered on the server with the readiness
page's base template and stylesheet: no script, progress bars are
``<progress>`` elements (the Content-Security-Policy allows no inline style).
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request

from collector import __version__
from collector.context import ctx
from collector.http.errors import ApiError
from collector.http.links import link, url_self
from collector.i18n import Translator, choose_lang
from collector.readiness.export import to_csv, to_xlsx
from collector.readiness.okr import OkrProgress, okr_table

bp = Blueprint("okr", __name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _milestones_json(p: OkrProgress) -> list[dict[str, Any]]:
    return [{"id": m.id, "date": m.date.isoformat(), "title_vi": m.title_vi, "title_en": m.title_en,
             "days_left": m.days_left(p.today), "work_items": p.work_by_milestone[m.id]} for m in p.milestones]


@bp.get("/api/v1/okr")
def okr_api():
    """Objectives and key results with value, progress and pace; the milestones' four counts beside them."""
    p = ctx().okr_progress(consistent=True)
    return jsonify(as_of=p.now.isoformat(), today=p.today.isoformat(),
                   objectives=[o.to_dict() for o in p.objectives], milestones=_milestones_json(p))


@bp.get("/okr")
def page():
    p = ctx().okr_progress()
    t = Translator(choose_lang(request.args.get("lang")))
    return render_template("okr.html", p=p, _=t, t=t, lang=t.lang, link=link, url_self=url_self,
                           now=p.now, version=__version__)


@bp.get("/export/okr.<fmt>")
def export(fmt: str):
    """The key results as the page shows them, for a meeting's spreadsheet (the one CSV/XLSX writer)."""
    p = ctx().okr_progress()
    table = okr_table(p, Translator(choose_lang(request.args.get("lang"))))
    stamp = p.now.strftime("%Y%m%d")
    if fmt == "csv":
        body, mimetype = to_csv(table), "text/csv"
    elif fmt == "xlsx":
        body, mimetype = to_xlsx(table), XLSX
    else:
        raise ApiError(404, "not_found", f"no download okr.{fmt}: use okr.csv or okr.xlsx")
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="hdc-okr-{stamp}.{fmt}"'})
