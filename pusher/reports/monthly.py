"""The monthly report (or any date range): what was published, who it reached, how fast,
and whether it was disclosed in time. Every figure is an aggregate query."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.models import Disclosure, Item, LinkOpen, Region
from pusher.reports import reach
from pusher.reports.clock import Clock, approvals, disclosed_clocks, tally
from pusher.reports.period import Period
from pusher.reports.replies import replies
from pusher.reports.table import Table
from pusher.workdays import WorkCalendar

CHANNEL_NAMES = {"wechat": "公众号", "wecom": "企业微信群", "sms": "短信", "sandbox": "模拟"}
NO_DOMAIN = "未分类"
PUSH_HEADER = ["推送", "标题", *reach.HEADER, "审批至90%送达(小时)"]
PUSH_NOTE = "用时从领导审批到第90%条消息送达或当面告知；未达到90%的推送不计。"
CLOCK_HEADER = ["编号", "标题", "起算日", "时限(工作日)", "截止日", "审批发布日", "结果"]
CLOCK_NOTE = "自信息形成（或变更）之日起，按目录时限（默认20个工作日）计算，节假日及调休已计入。"


@dataclass
class Monthly:
    """The figures of one period: a summary line, the tables, and the charts' series."""

    period: Period
    summary: dict[str, Any] = field(default_factory=dict)
    tables: list[Table] = field(default_factory=list)
    villages: list[tuple[str, int, int]] = field(default_factory=list)  # name, reached, total
    weeks: list[tuple[str, int, int]] = field(default_factory=list)

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)


async def published_by(db: AsyncSession, period: Period, column: Any) -> list[list[Any]]:
    """Proactively disclosed items approved in ``period``, counted by ``column`` (domain,
    publisher)."""
    approved = approvals()
    key = func.coalesce(column, NO_DOMAIN)
    query = (
        select(key, func.count(Item.id))
        .join(approved, approved.c.item_id == Item.id)
        .where(approved.c.at >= period.start, approved.c.at < period.end)
        .where(Item.disclosure == Disclosure.PROACTIVE)
        .group_by(key)
        .order_by(func.count(Item.id).desc(), key)
    )
    return [[name, int(n)] for name, n in await db.execute(query)]


async def opens_by_village(db: AsyncSession, period: Period) -> list[list[Any]]:
    """Short-link opens in ``period`` per village (links that named none: 未注明)."""
    query = (
        select(LinkOpen.region_code, Region.name, func.sum(LinkOpen.opens))
        .outerjoin(Region, Region.code == LinkOpen.region_code)
        .where(LinkOpen.day >= period.first, LinkOpen.day <= period.last)
        .group_by(LinkOpen.region_code, Region.name)
        .order_by(LinkOpen.region_code)
    )
    return [[name or "未注明村", int(n or 0)] for _, name, n in await db.execute(query)]


def _clock_rows(clocks: list[Clock]) -> list[list[Any]]:
    verdict = {True: "按时", False: "超期", None: "无法计算"}
    return [
        [c.item_id, c.title, c.start.isoformat(), c.limit, c.due.isoformat() if c.due else "",
         c.disclosed.isoformat() if c.disclosed else "", verdict[c.on_time]]
        for c in clocks
    ]  # fmt: skip


def _push_rows(pushes: list[dict[str, Any]]) -> list[list[Any]]:
    return [
        [p["push_id"], p["title"], *p["counts"], "" if p["hours"] is None else p["hours"]]
        for p in pushes
    ]


async def monthly(db: AsyncSession, period: Period, calendar: WorkCalendar) -> Monthly:
    """Every figure of the monthly report for ``period``."""
    report = Monthly(period)
    domains = await published_by(db, period, Item.domain)
    publishers = await published_by(db, period, Item.publisher)
    villages = await reach.by_village(db, period)
    channels = await reach.by_channel(db, period)
    pushes = await reach.by_push(db, period)
    weeks = await reach.by_week(db, period)
    clocks = await disclosed_clocks(db, calendar, period)
    on_time = tally(clocks)
    hours = sorted(p["hours"] for p in pushes if p["hours"] is not None)
    report.summary = {
        "items": sum(n for _, n in domains),
        "pushes": len(pushes),
        "messages": sum(p["counts"][0] for p in pushes),
        **on_time,
        "median_hours": hours[len(hours) // 2] if hours else None,
    }
    named = [[CHANNEL_NAMES.get(c, c), *rest] for c, *rest in channels]
    grids = await reach.by_region(db, period)
    opens = await opens_by_village(db, period)
    report.tables = [
        Table("domain", "按领域发布", ["领域", "条数"], domains),
        Table("publisher", "按发布主体", ["发布主体", "条数"], publishers),
        Table("push", "推送及到达", PUSH_HEADER, _push_rows(pushes), note=PUSH_NOTE),
        Table("village", "按村到达", ["村(社区)", *reach.HEADER], villages),
        Table("grid", "按网格到达", ["网格", *reach.HEADER], grids),
        Table("channel", "按渠道到达", ["渠道", *reach.HEADER], named),
        Table("opens", "短链接打开次数（按村）", ["村(社区)", "打开次数"], opens),
        Table("week", "按周趋势", ["周", *reach.HEADER], weeks),
        Table("clock", "公开时限", CLOCK_HEADER, _clock_rows(clocks), note=CLOCK_NOTE),
        await replies(db, period),
    ]
    report.villages = [(v[0], _reached(v), v[1]) for v in villages]
    report.weeks = [(w[0], _reached(w), w[1]) for w in weeks]
    return report


def _reached(row: list[Any]) -> int:
    """Delivered + sent without receipt + told in person (columns 2, 3 and 6)."""
    return int(row[2] + row[3] + row[6])
