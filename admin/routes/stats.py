"""Statistics page (advisers and admins): figures, SVG charts, CSV and XLSX of every table."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from admin.charts import BarChart, bar_chart
from admin.pages import render
from admin.security import ConfigDep, CurrentUser, DbSession
from knowledge.catalog import activity
from knowledge.catalog.sheets import Table, write_csv, write_xlsx
from knowledge.desk import statistics
from knowledge.desk.workdays import PARIS
from knowledge.errors import NotFound
from knowledge.timeutil import utcnow

router = APIRouter()

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _report(request: Request, db: DbSession, config: ConfigDep) -> statistics.StatsReport:
    params = request.query_params
    period = statistics.parse_period(params.get("from") or None, params.get("to") or None,
                                     today=utcnow().astimezone(PARIS).date())
    return statistics.report(session=db, period=period, target_days=config.target_delay_days)


def _charts(stats: statistics.StatsReport) -> dict[str, BarChart]:
    return {
        "mois": bar_chart("mois", "Questions par mois",
                          [(row.label, row.questions, row.previous_questions)
                           for row in stats.months]),
        "departements": bar_chart("departements", "Questions par département",
                                  [(f"{row.key} {row.label}" if row.key != row.label
                                    else row.label, row.questions, row.previous_questions)
                                   for row in stats.by_departement]),
        "themes": bar_chart("themes", "Questions par thème",
                            [(row.label, row.questions, row.previous_questions)
                             for row in stats.by_theme]),
        "organismes": bar_chart("organismes", "Questions par organisme",
                                [(row.label, row.questions, row.previous_questions)
                                 for row in stats.by_organisation]),
    }


@router.get("/stats")
def stats_page(request: Request, db: DbSession, config: ConfigDep,
               user: CurrentUser) -> HTMLResponse:
    """Show the figures of a period beside the same dates one year earlier."""
    stats = _report(request, db, config)
    query = urlencode({"from": stats.period.start.isoformat(),
                       "to": stats.period.end.isoformat()})
    return render(request, "stats.html", {
        "stats": stats, "tables": {table.key: table for table in stats.tables()},
        "charts": _charts(stats), "query": query, "definitions": activity.DEFINITIONS,
    })


def _download(content: bytes, filename: str, media_type: str) -> Response:
    return Response(content, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def table_file(tables: list[Table], filename: str, prefix: str) -> Response:
    """Answer `<key>.csv`, `<key>.xlsx` or `tout.xlsx` from a list of tables."""
    key, _, extension = filename.rpartition(".")
    chosen = tables if key == "tout" and extension == "xlsx" else \
        [table for table in tables if table.key == key]
    if not chosen or extension not in ("csv", "xlsx"):
        raise NotFound("export", filename)
    if extension == "csv":
        return _download(write_csv(chosen[0]), f"{prefix}-{filename}", "text/csv; charset=utf-8")
    return _download(write_xlsx(chosen), f"{prefix}-{filename}", XLSX_TYPE)


@router.get("/stats/export/{filename}")
def stats_export(request: Request, filename: str, db: DbSession, config: ConfigDep,
                 user: CurrentUser) -> Response:
    """Download one table as CSV or XLSX, or every table as one XLSX workbook."""
    stats = _report(request, db, config)
    prefix = f"statistiques-{stats.period.start.isoformat()}-{stats.period.end.isoformat()}"
    return table_file(stats.tables(), filename, prefix)
