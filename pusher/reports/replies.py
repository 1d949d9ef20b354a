"""Residents' messages (留言) received in a period and how many were answered and closed,
by the channel they came in on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.models import ResidentMessage
from pusher.reports.period import Period
from pusher.reports.table import Table

CHANNEL_NAMES = {"wechat": "公众号", "sms": "短信"}
HEADER = ["渠道", "收到", "已答复", "已办结", "其中紧急"]


def _count(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


async def replies(db: AsyncSession, period: Period) -> Table:
    """Messages received in ``period`` by channel: received, answered, closed, urgent."""
    m = ResidentMessage
    query = (
        select(
            m.channel,
            func.count(m.id),
            _count(m.answered_at.is_not(None)),
            _count(m.closed_at.is_not(None)),
            _count(m.urgent.is_(True)),
        )
        .where(m.created_at >= period.start, m.created_at < period.end)
        .group_by(m.channel)
        .order_by(m.channel)
    )
    rows = [[CHANNEL_NAMES.get(c, c), *(int(v or 0) for v in rest)]
            for c, *rest in await db.execute(query)]  # fmt: skip
    note = "答复与办结按留言收到的期间统计（期间内收到、至今已答复或办结）。"
    return Table("replies", "居民留言办理", HEADER, rows, note=note)
