"""The front page: today's pushes, delivery rate per village, waiting reviews, failures."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import case, func, select

from pusher.console.base import STAFF, render, viewer
from pusher.console.due import due_summary
from pusher.console.item_groups import KIND_NAMES, group_state
from pusher.models import Delivery, DeliveryStatus, Item, ItemStatus, Push, Region, Role
from pusher.reports.period import range_of, today_local
from pusher.web.keys import RESOURCES
from pusher.web.local_time import LOCAL

REACHED = (DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.CONFIRMED)
MISSED = (DeliveryStatus.FAILED, DeliveryStatus.UNREACHABLE)
#: a group row waiting for its keeper or owner has not missed anyone yet
PENDING = (DeliveryStatus.QUEUED, DeliveryStatus.SENDING, DeliveryStatus.WAITING)


def _today_start() -> datetime:
    now = datetime.now(LOCAL)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


async def _villages(
    db: Any, since: datetime, scope: frozenset[int] | None, *, until: datetime | None = None
) -> list[dict[str, Any]]:
    """Delivery rate per village since ``since`` (before ``until``): reached / deliveries
    with an outcome. Messages still waiting (quiet hours, a push under way) are counted
    apart: they have not missed anyone yet."""
    village = select(Region.id, Region.name, Region.path).where(Region.kind == "village").subquery()
    grid = select(Region.id, Region.path).subquery()
    query = (
        select(
            village.c.name,
            func.count(Delivery.id),
            func.sum(case((Delivery.status.in_(REACHED), 1), else_=0)),
            func.sum(case((Delivery.status.in_(MISSED), 1), else_=0)),
            func.sum(case((Delivery.status.in_(PENDING), 1), else_=0)),
        )
        .join(grid, grid.c.path.startswith(village.c.path))
        .join(Delivery, Delivery.region_id == grid.c.id)
        .where(Delivery.created_at >= since)
        .group_by(village.c.name, village.c.path)
        .order_by(village.c.path)
    )
    if scope is not None:
        query = query.where(Delivery.region_id.in_(scope or {-1}))
    if until is not None:
        query = query.where(Delivery.created_at < until)
    out = []
    for name, total, reached, missed, pending in await db.execute(query):
        settled = total - (pending or 0)
        rate = round(100 * (reached or 0) / settled) if settled else None
        out.append({"name": name, "rate": rate, "missed": missed or 0, "pending": pending or 0})
    return out


async def group_counts(
    db: Any, since: datetime, scope: frozenset[int] | None, *, until: datetime | None = None
) -> list[dict[str, Any]]:
    """Group-chat deliveries since ``since`` by kind, then by state in words (已发送,
    待群主确认, 已转发 …): one line per kind that had any."""
    query = (
        select(Delivery.channel, Delivery.status, func.count())
        .where(Delivery.group_chat_id.is_not(None), Delivery.created_at >= since)
        .group_by(Delivery.channel, Delivery.status)
    )
    if scope is not None:
        query = query.where(Delivery.region_id.in_(scope or {-1}))
    if until is not None:
        query = query.where(Delivery.created_at < until)
    kinds: dict[str, dict[str, int]] = {}
    for channel, status, n in await db.execute(query):
        states = kinds.setdefault(channel, {})
        label = group_state(channel, status)
        states[label] = states.get(label, 0) + int(n)
    return [
        {"kind": name, "total": sum(kinds[c].values()), "states": kinds[c]}
        for c, name in KIND_NAMES.items()
        if c in kinds
    ]


async def dashboard(request: web.Request) -> web.Response:
    me = await viewer(request, *STAFF, Role.GRID_WORKER)
    today = _today_start()
    async with request.app[RESOURCES].db() as db:
        pushes = (
            await db.execute(
                select(Push, Item.title)
                .join(Item, Item.id == Push.item_id)
                .where(Push.created_at >= today)
                .order_by(Push.id.desc())
                .limit(20)
            )
        ).all()
        waiting = (
            await db.scalars(
                select(Item)
                .where(Item.status.in_((ItemStatus.SUBMITTED, ItemStatus.CHECKED)))
                .order_by(Item.id)
                .limit(20)
            )
        ).all()
        window = range_of(request.query, today=today_local())
        since, until = (window.start, window.end) if window else (today - timedelta(days=7), None)
        villages = await _villages(db, since, me.scope, until=until)
        groups = await group_counts(db, since, me.scope, until=until)
        office = me.role != Role.GRID_WORKER
        due = await due_summary(db, request.app[RESOURCES].settings) if office else None
    failures = sum(v["missed"] for v in villages)
    pending = sum(v["pending"] for v in villages)
    return await render(
        request,
        "dashboard.html",
        me,
        pushes=pushes,
        waiting=waiting,
        villages=villages,
        groups=groups,
        failures=failures,
        pending=pending,
        window=window,
        due=due,
    )
