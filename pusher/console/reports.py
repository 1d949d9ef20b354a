"""Reports for the office: the monthly report (page, print page, workbook), the yearly
figures, the review register (workbook) and one item's review form (print page)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from urllib.parse import quote, urlencode

from aiohttp import web

from pusher.console.base import STAFF, Viewer, audit, render, viewer
from pusher.console.charts import bars
from pusher.console.items import load_item
from pusher.console.workbook import workbook_bytes
from pusher.db import transaction
from pusher.reports import period as periods
from pusher.reports import register, review_pdf
from pusher.reports.clock import calendar_for
from pusher.reports.monthly import Monthly, monthly
from pusher.reports.table import Table
from pusher.reports.yearly import yearly
from pusher.web.keys import RESOURCES

NO_FONT = "服务器未配置中文字体，暂时无法生成 PDF；请使用打印页面，或请管理员设置 PUSHER_PDF_FONT。"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _period(request: web.Request) -> periods.Period:
    return periods.from_query(request.query, today=periods.today_local())


async def _monthly(request: web.Request) -> tuple[Viewer, Monthly]:
    me = await viewer(request, *STAFF)
    period = _period(request)
    resources = request.app[RESOURCES]
    async with resources.db() as db:
        report = await monthly(db, period, calendar_for(resources.settings))
    return me, report


def _neighbours(period: periods.Period) -> dict[str, str]:
    """Links to the months before and after the period's first month."""
    before = period.first.replace(day=1) - timedelta(days=1)
    after = (period.first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return {"prev": f"{before:%Y-%m}", "next": f"{after:%Y-%m}"}


async def monthly_page(request: web.Request) -> web.Response:
    """``/reports/monthly?month=2026-11`` (or ``from``/``to``): figures and charts."""
    me, report = await _monthly(request)
    return await render(
        request, "reports_monthly.html", me, report=report, q=request.query,
        qs=urlencode(report.period.query()), months=_neighbours(report.period),
        village_chart=bars(report.villages, title="各村到达（已送达/消息数）"),
        week_chart=bars(report.weeks, title="按周到达（已送达/消息数）"),
    )  # fmt: skip


async def monthly_print(request: web.Request) -> web.Response:
    """The monthly submission as an A4 print page."""
    me, report = await _monthly(request)
    return await render(
        request, "reports_print.html", me, report=report,
        village_chart=bars(report.villages, title="各村到达（已送达/消息数）"),
    )  # fmt: skip


async def _download(
    request: web.Request, me: Viewer, tables: list[Table], *, name: str, heading: str
) -> web.Response:
    body = await asyncio.to_thread(workbook_bytes, tables, heading=heading)
    async with transaction(request.app[RESOURCES].db) as db:
        await audit(db, me, "reports.export", request.path_qs, sheets=len(tables))
    return web.Response(
        body=body,
        content_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}.xlsx"},
    )


async def monthly_xlsx(request: web.Request) -> web.Response:
    me, report = await _monthly(request)
    label = report.period.label
    heading = f"政务信息推送月报（{label}）"
    return await _download(request, me, report.tables, name=f"月报-{label}", heading=heading)


async def yearly_page(request: web.Request) -> web.Response:
    """``/reports/yearly?year=2026``: the annual report's figures touching pusher."""
    me = await viewer(request, *STAFF)
    raw = request.query.get("year") or str(periods.today_local().year)
    period = periods.year(raw)
    async with request.app[RESOURCES].db() as db:
        tables = await yearly(db, period)
    if request.query.get("format") == "xlsx":
        heading = f"{period.first.year}年政府信息公开工作年度报告（精准推送部分）"
        return await _download(request, me, tables, name=f"年报-{raw}", heading=heading)
    return await render(request, "reports_yearly.html", me, tables=tables, year=period.first.year)


async def register_xlsx(request: web.Request) -> web.Response:
    """``/reports/register.xlsx?from=&to=``: the review register of the period."""
    me = await viewer(request, *STAFF)
    period = _period(request)
    async with request.app[RESOURCES].db() as db:
        entries = await register.entries(db, period=period)
    rows = [register.row(e) for e in entries]
    table = Table("register", "信息发布保密审查登记", register.HEADER, rows)
    heading = f"信息发布保密审查登记（{period.label}）"
    return await _download(request, me, [table], name=f"保密审查登记-{period.label}",
                           heading=heading)  # fmt: skip


async def review_form(request: web.Request) -> web.Response:
    """``/items/{id}/review-form``: the item's 信息发布保密审查表, ready to print on A4."""
    me = await viewer(request, *STAFF)
    async with request.app[RESOURCES].db() as db:
        item = await load_item(db, request.match_info["item_id"])
        entry = (await register.entries(db, item_id=item.id))[0]
    return await render(request, "review_form.html", me, item=item, entry=entry,
                        opinion=register.Entry.opinion)  # fmt: skip


async def review_form_pdf(request: web.Request) -> web.Response:
    """``/items/{id}/review-form.pdf``: the same form as an A4 PDF, made in a thread."""
    me = await viewer(request, *STAFF)
    resources = request.app[RESOURCES]
    try:
        font = review_pdf.find_font(resources.settings.pdf_font)
    except review_pdf.NoFont:
        raise web.HTTPServiceUnavailable(text=NO_FONT) from None
    async with resources.db() as db:
        item = await load_item(db, request.match_info["item_id"])
        entry = (await register.entries(db, item_id=item.id))[0]
    number = item.index_number or str(item.id)
    body = await asyncio.to_thread(review_pdf.review_pdf, entry, number=number, font=font)
    async with transaction(resources.db) as db:
        await audit(db, me, "reports.export", request.path_qs, item=item.id)
    name = quote(f"保密审查表-{item.id}.pdf")
    return web.Response(
        body=body,
        content_type="application/pdf",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
    )
