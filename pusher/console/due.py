"""Items whose disclosure deadline is near or past (``/due``) and the dashboard's block."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.console.base import STAFF, render, viewer
from pusher.console.items import STATUS_NAMES
from pusher.reports.clock import SOON, Clock, calendar_for, open_clocks
from pusher.reports.period import today_local
from pusher.settings import Settings
from pusher.web.keys import RESOURCES

#: items shown on the dashboard (the page lists them all)
BLOCK = 5


def state(clock: Clock) -> str:
    """The deadline in words: 超期 N 个工作日 / 还剩 N 个工作日 / 今天截止."""
    if clock.error or clock.left is None:
        return "无法计算"
    if clock.left < 0:
        return f"超期 {-clock.left} 个工作日"
    return "今天截止" if clock.left == 0 else f"还剩 {clock.left} 个工作日"


def deadline_text(clock: Clock) -> str:
    """One item's deadline for its page: due date and days left, or how it ended."""
    if clock.error:
        return clock.error
    since = f"自{clock.start_kind} {clock.start.isoformat()}"
    due = f"{clock.limit} 个工作日（{since}），截止 {clock.due}"
    if clock.disclosed is None:
        return f"{due}，{state(clock)}"
    verdict = "按时" if clock.on_time else "超期"
    return f"{due}，{clock.disclosed.isoformat()} 审批发布，{verdict}"


async def due_summary(db: AsyncSession, settings: Settings) -> dict[str, Any]:
    """Overdue and due-soon counts and the first few items, for the dashboard."""
    clocks = await open_clocks(db, calendar_for(settings), today=today_local())
    overdue = sum(1 for c in clocks if c.left is not None and c.left < 0)
    return {"overdue": overdue, "soon": len(clocks) - overdue,
            "first": [(c, state(c)) for c in clocks[:BLOCK]]}  # fmt: skip


async def due_page(request: web.Request) -> web.Response:
    me = await viewer(request, *STAFF)
    resources = request.app[RESOURCES]
    async with resources.db() as db:
        clocks = await open_clocks(db, calendar_for(resources.settings), today=today_local())
    return await render(
        request, "due.html", me, rows=[(c, state(c)) for c in clocks], soon=SOON,
        names=STATUS_NAMES,
    )  # fmt: skip
