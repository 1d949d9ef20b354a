"""Who the period's pushes reached, counted in the database: by village, grid, channel,
week and push, and how long each push took from approval to 90% delivered.

A push belongs to the period it was made in; its deliveries are found through the
(push, resident) index. Statuses are summed with ``CASE`` in one grouped query per table.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.models import Delivery, DeliveryStatus, Item, Push, Region
from pusher.reports.clock import approvals
from pusher.reports.period import Period

#: the columns every reach table has, in this order
BUCKETS: tuple[tuple[str, tuple[DeliveryStatus, ...]], ...] = (
    ("已送达", (DeliveryStatus.DELIVERED,)),
    ("已发出未回执", (DeliveryStatus.SENT,)),
    ("失败", (DeliveryStatus.FAILED,)),
    ("无法联系", (DeliveryStatus.UNREACHABLE,)),
    ("已当面告知", (DeliveryStatus.CONFIRMED,)),
    ("等待发送", (DeliveryStatus.QUEUED, DeliveryStatus.SENDING)),
)
HEADER = ["消息数", *(name for name, _ in BUCKETS)]
#: reached for the 90% clock: a receipt said delivered, or a grid worker told them
REACHED = (DeliveryStatus.DELIVERED, DeliveryStatus.CONFIRMED)


def pushes_in(period: Period) -> Select[Any]:
    """Ids of the pushes made in ``period``."""
    return select(Push.id).where(Push.created_at >= period.start, Push.created_at < period.end)


def _sums() -> list[Any]:
    return [func.count(Delivery.id)] + [
        func.sum(case((Delivery.status.in_(statuses), 1), else_=0)) for _, statuses in BUCKETS
    ]


def _counts(row: Any, skip: int) -> list[int]:
    return [int(v or 0) for v in list(row)[skip:]]


async def by_village(db: AsyncSession, period: Period) -> list[list[Any]]:
    """[village, messages, each bucket…], villages in code order."""
    village = select(Region.name, Region.path).where(Region.kind == "village").subquery()
    query = (
        select(village.c.name, *_sums())
        .join(Region, Region.path.startswith(village.c.path))
        .join(Delivery, Delivery.region_id == Region.id)
        .where(Delivery.push_id.in_(pushes_in(period)))
        .group_by(village.c.name, village.c.path)
        .order_by(village.c.path)
    )
    return [[row[0], *_counts(row, 1)] for row in await db.execute(query)]


async def by_region(db: AsyncSession, period: Period) -> list[list[Any]]:
    """[grid (or the village of a village group chat), messages, each bucket…]."""
    query = (
        select(Region.name, *_sums())
        .join(Region, Region.id == Delivery.region_id)
        .where(Delivery.push_id.in_(pushes_in(period)))
        .group_by(Region.name, Region.path)
        .order_by(Region.path)
    )
    return [[row[0], *_counts(row, 1)] for row in await db.execute(query)]


async def by_channel(db: AsyncSession, period: Period) -> list[list[Any]]:
    query = (
        select(Delivery.channel, *_sums())
        .where(Delivery.push_id.in_(pushes_in(period)))
        .group_by(Delivery.channel)
        .order_by(Delivery.channel)
    )
    return [[row[0], *_counts(row, 1)] for row in await db.execute(query)]


async def by_week(db: AsyncSession, period: Period) -> list[list[Any]]:
    """[week label, messages, each bucket…] by the week a message was written (Monday
    weeks, Beijing time), bucketed with one CASE so both databases agree."""
    weeks = period.weeks()
    bounds = [Period(first, last).end for first, last in weeks]
    week = case(*((Delivery.created_at < b, n) for n, b in enumerate(bounds)), else_=-1)
    query = (
        select(week.label("week"), *_sums())
        .where(Delivery.push_id.in_(pushes_in(period)), Delivery.created_at >= period.start)
        .group_by(week)
    )
    found = {row[0]: _counts(row, 1) for row in await db.execute(query)}
    zero = [0] * len(HEADER)
    return [
        [f"{first:%m-%d}–{last:%m-%d}", *found.get(n, zero)]
        for n, (first, last) in enumerate(weeks)
    ]


async def by_push(db: AsyncSession, period: Period) -> list[dict[str, Any]]:
    """Each push of the period: its item, counts, and hours from approval to 90% reached."""
    approved = approvals()
    query = (
        select(Push.id, Item.title, Push.created_at, approved.c.at, *_sums())
        .join(Item, Item.id == Push.item_id)
        .outerjoin(approved, approved.c.item_id == Item.id)
        .outerjoin(Delivery, Delivery.push_id == Push.id)
        .where(Push.id.in_(pushes_in(period)))
        .group_by(Push.id, Item.title, Push.created_at, approved.c.at)
        .order_by(Push.id)
    )
    rows = (await db.execute(query)).all()
    ninety = await _ninety(db, period)
    out = []
    for row in rows:
        counts = _counts(row, 4)
        hours = _hours(row.at, ninety.get(row.id))
        out.append({"push_id": row.id, "title": row.title, "at": row.created_at,
                    "counts": counts, "hours": hours})  # fmt: skip
    return out


async def _ninety(db: AsyncSession, period: Period) -> dict[int, datetime]:
    """push id → when the message that took it to 90% of its total was reached."""
    mine = Delivery.push_id.in_(pushes_in(period))
    order = func.row_number().over(partition_by=Delivery.push_id, order_by=Delivery.done_at)
    ranked = (
        select(Delivery.push_id, Delivery.done_at, order.label("n"))
        .where(mine, Delivery.status.in_(REACHED), Delivery.done_at.is_not(None))
        .subquery()
    )
    totals = (
        select(Delivery.push_id, func.count().label("total"))
        .where(mine)
        .group_by(Delivery.push_id)
        .subquery()
    )
    needed = (totals.c.total * 9 + 9) // 10  # ceil(0.9 × total) in integers
    query = (
        select(ranked.c.push_id, ranked.c.done_at)
        .join(totals, totals.c.push_id == ranked.c.push_id)
        .where(ranked.c.n == needed)
    )
    return {push_id: at for push_id, at in await db.execute(query)}


def _aware(stamp: datetime) -> datetime:
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _hours(approved: datetime | None, reached: datetime | None) -> float | None:
    if approved is None or reached is None:
        return None
    return round((_aware(reached) - _aware(approved)).total_seconds() / 3600, 1)
