"""Follow-up for grid workers: residents a push did not reach, confirmed in person; and,
for them and the office, the village groups a notice did not reach (a keeper's 未能转发,
a customer group's owner who did not send)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from pusher.console.base import STAFF, audit, deny, render, viewer
from pusher.console.group_followup import unconfirmed_groups
from pusher.db import transaction
from pusher.errors import Conflict, NotFound
from pusher.models import (
    PERSON_CHANNELS,
    Delivery,
    DeliveryStatus,
    GroupChat,
    Item,
    Push,
    Region,
    Resident,
    Role,
    utcnow,
)
from pusher.web.keys import RESOURCES
from pusher.web.params import int_param
from pusher.web.scope import visible

MISSED = (DeliveryStatus.FAILED, DeliveryStatus.UNREACHABLE)
LIMIT = 500


async def followup_page(request: web.Request) -> web.Response:
    me = await viewer(request, Role.GRID_WORKER, *STAFF)
    query = (
        select(Delivery, Resident, Region.name, Item.title)
        .join(Resident, Resident.id == Delivery.resident_id)
        .join(Region, Region.id == Delivery.region_id)
        .join(Push, Push.id == Delivery.push_id)
        .join(Item, Item.id == Push.item_id)
        .where(Delivery.status.in_(MISSED))
        .order_by(Region.path, Resident.name, Delivery.id)
    )
    if me.scope is not None:
        query = query.where(Delivery.region_id.in_(me.scope or {-1}))
    groups = (
        select(Delivery, GroupChat.name, Region.name, Item.title)
        .join(GroupChat, GroupChat.id == Delivery.group_chat_id)
        .join(Region, Region.id == GroupChat.region_id)
        .join(Push, Push.id == Delivery.push_id)
        .join(Item, Item.id == Push.item_id)
        .where(Delivery.status == DeliveryStatus.FAILED, Delivery.channel.in_(PERSON_CHANNELS))
        .order_by(Delivery.id.desc())
    )
    if me.scope is not None:
        groups = groups.where(Delivery.region_id.in_(me.scope or {-1}))
    async with request.app[RESOURCES].db() as db:
        rows = (await db.execute(query.limit(LIMIT))).all()
        chats = (await db.execute(groups.limit(LIMIT))).all()
        unconfirmed = await unconfirmed_groups(db, me.scope)
    return await render(
        request, "followup.html", me, rows=rows, chats=chats, done=request.query.get("done"),
        confirms=me.can(Role.GRID_WORKER), groups=unconfirmed,
    )  # fmt: skip


async def confirm(request: web.Request) -> web.Response:
    """已当面告知: the grid worker told the resident in person."""
    me = await viewer(request, Role.GRID_WORKER)
    delivery_id = int_param(request, "delivery_id")
    async with transaction(request.app[RESOURCES].db) as db:
        delivery = await db.get(Delivery, delivery_id)
        if delivery is None:
            raise NotFound("这条推送记录不存在。")
        allowed = visible(me.scope, delivery.region_id)
        if allowed:
            if delivery.status not in MISSED:
                raise Conflict("这条记录不是未送达状态，无需跟进。")
            delivery.status = DeliveryStatus.CONFIRMED
            delivery.done_at = utcnow()
            await audit(
                db,
                me,
                "followup.confirm",
                f"delivery:{delivery_id}",
                resident_id=delivery.resident_id,
                push_id=delivery.push_id,
            )
    if not allowed:
        await deny(request, me, target=f"delivery:{delivery_id}", why="scope")
    raise web.HTTPFound(f"/followup?done={delivery_id}")
