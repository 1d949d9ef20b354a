"""JSON API for pushes and deliveries (read-only here; retries come with the console).

Grid workers see only deliveries whose region lies inside their assigned regions: the
lists and a push's counts are cut to their scope, and asking for a resident or a region
outside it is refused (403) and written to the audit log.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.errors import InvalidInput, NotFound
from pusher.models import Delivery, DeliveryStatus, Push, Region, Resident
from pusher.web.auth import READ_DELIVERIES, Caller, caller, refuse
from pusher.web.keys import RESOURCES
from pusher.web.params import int_param, page, query_int

D = Delivery.__table__.c


def in_scope(me: Caller) -> ColumnElement[bool] | None:
    """The condition that keeps deliveries inside ``me``'s regions (None: no limit)."""
    if me.scope is None:
        return None
    return D.region_id.in_(sorted(me.scope) or [-1])


def _scoped(query: Select[Any], me: Caller) -> Select[Any]:
    condition = in_scope(me)
    return query if condition is None else query.where(condition)


async def list_pushes(request: web.Request) -> web.Response:
    me = await caller(request, *READ_DELIVERIES)
    limit, offset = page(request)
    query = select(Push).order_by(Push.id.desc())
    item_id = query_int(request, "item_id")
    if item_id is not None:
        query = query.where(Push.item_id == item_id)
    if me.scope is not None:
        query = query.where(Push.id.in_(_scoped(select(D.push_id), me).scalar_subquery()))
    async with request.app[RESOURCES].db() as session:
        pushes = (await session.scalars(query.limit(limit).offset(offset))).all()
    return web.json_response({"pushes": [p.model_dump(mode="json") for p in pushes]})


async def get_push(request: web.Request) -> web.Response:
    """A push with its delivery counts per channel and status (a grid worker's own only)."""
    me = await caller(request, *READ_DELIVERIES)
    push_id = int_param(request, "push_id")
    async with request.app[RESOURCES].db() as session:
        push = await session.get(Push, push_id)
        if push is None:
            raise NotFound(f"推送 {push_id} 不存在")
        query = select(D.channel, D.status, func.count()).where(D.push_id == push_id)
        rows = await session.execute(_scoped(query, me).group_by(D.channel, D.status))
        counts: dict[str, dict[str, int]] = {}
        for channel, status, count in rows:
            counts.setdefault(channel, {})[status] = count
    scope = {"scope": "own_regions"} if me.scope is not None else {}
    return web.json_response(push.model_dump(mode="json") | {"counts": counts} | scope)


async def _filtered(request: web.Request, session: AsyncSession, me: Caller) -> Select[Any]:
    query = _scoped(select(Delivery).order_by(D.id), me)
    push_id = query_int(request, "push_id")
    if push_id is not None:
        query = query.where(D.push_id == push_id)
    resident_id = query_int(request, "resident_id")
    if resident_id is not None:
        await _check_resident(request, session, me, resident_id)
        query = query.where(D.resident_id == resident_id)
    status = request.query.get("status")
    if status:
        if status not in DeliveryStatus._value2member_map_:
            raise InvalidInput(f"未知的投递状态：{status}", field="status")
        query = query.where(D.status == status)
    if request.query.get("channel"):
        query = query.where(D.channel == request.query["channel"])
    region = request.query.get("region")
    if region:
        await _check_region(request, session, me, region)
        inside = select(Region.id).where(Region.path.contains(f"/{region}/"))
        query = query.where(D.region_id.in_(inside.scalar_subquery()))
    return query


async def _check_resident(
    request: web.Request, session: AsyncSession, me: Caller, resident_id: int
) -> None:
    if me.scope is None:
        return
    # An unknown resident is refused like a foreign one, so ids cannot be probed.
    region_id = await session.scalar(select(Resident.region_id).where(Resident.id == resident_id))
    if not me.sees(region_id):
        await refuse(request, me, target=f"resident:{resident_id}")


async def _check_region(request: web.Request, session: AsyncSession, me: Caller, code: str) -> None:
    if me.scope is None:
        return
    region_id = await session.scalar(select(Region.id).where(Region.code == code))
    if not me.sees(region_id):
        await refuse(request, me, target=f"region:{code}")


async def list_deliveries(request: web.Request) -> web.Response:
    me = await caller(request, *READ_DELIVERIES)
    limit, offset = page(request, max_limit=1000)
    async with request.app[RESOURCES].db() as session:
        query = await _filtered(request, session, me)
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
        rows = (await session.scalars(query.limit(limit).offset(offset))).all()
    return web.json_response(
        {"total": total, "deliveries": [d.model_dump(mode="json") for d in rows]}
    )
