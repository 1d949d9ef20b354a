"""JSON API for pushes and deliveries (read-only here; retries come with the console)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import Select, func, select

from pusher.errors import InvalidInput, NotFound
from pusher.models import Delivery, DeliveryStatus, Push, Region
from pusher.web.auth import require
from pusher.web.keys import RESOURCES
from pusher.web.params import int_param, page, query_int

D = Delivery.__table__.c


async def list_pushes(request: web.Request) -> web.Response:
    await require(request)
    limit, offset = page(request)
    query = select(Push).order_by(Push.id.desc())
    item_id = query_int(request, "item_id")
    if item_id is not None:
        query = query.where(Push.item_id == item_id)
    async with request.app[RESOURCES].db() as session:
        pushes = (await session.scalars(query.limit(limit).offset(offset))).all()
    return web.json_response({"pushes": [p.model_dump(mode="json") for p in pushes]})


async def get_push(request: web.Request) -> web.Response:
    await require(request)
    push_id = int_param(request, "push_id")
    async with request.app[RESOURCES].db() as session:
        push = await session.get(Push, push_id)
        if push is None:
            raise NotFound(f"推送 {push_id} 不存在")
        rows = await session.execute(
            select(D.channel, D.status, func.count())
            .where(D.push_id == push_id)
            .group_by(D.channel, D.status)
        )
        counts: dict[str, dict[str, int]] = {}
        for channel, status, count in rows:
            counts.setdefault(channel, {})[status] = count
    return web.json_response(push.model_dump(mode="json") | {"counts": counts})


def _filtered(request: web.Request) -> Select[Any]:
    query = select(Delivery).order_by(D.id)
    for name in ("push_id", "resident_id"):
        value = query_int(request, name)
        if value is not None:
            query = query.where(D[name] == value)
    status = request.query.get("status")
    if status:
        if status not in DeliveryStatus._value2member_map_:
            raise InvalidInput(f"未知的投递状态：{status}", field="status")
        query = query.where(D.status == status)
    if request.query.get("channel"):
        query = query.where(D.channel == request.query["channel"])
    region = request.query.get("region")
    if region:
        inside = select(Region.id).where(Region.path.contains(f"/{region}/"))
        query = query.where(D.region_id.in_(inside.scalar_subquery()))
    return query


async def list_deliveries(request: web.Request) -> web.Response:
    await require(request)
    limit, offset = page(request, max_limit=1000)
    query = _filtered(request)
    async with request.app[RESOURCES].db() as session:
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
        rows = (await session.scalars(query.limit(limit).offset(offset))).all()
    return web.json_response(
        {"total": total, "deliveries": [d.model_dump(mode="json") for d in rows]}
    )
