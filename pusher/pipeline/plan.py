"""Plan: turn an item's matched groups into delivery rows, in set-based chunks.

One ``INSERT … SELECT`` per chunk of resident ids writes every delivery of the
chunk (channel chosen in SQL, duplicates across groups impossible thanks to the
unique (push, resident) constraint). Progress is recorded after each chunk, so
a planning job that runs twice, or resumes after a crash, writes nothing twice,
and dispatch can start on the first chunk while later ones are planned.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Insert, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import ChannelKind
from pusher.db import SessionFactory, transaction
from pusher.models import (
    Delivery,
    DeliveryStatus,
    Item,
    ItemMatch,
    ItemStatus,
    Push,
    Resident,
    utcnow,
)
from pusher.pipeline.review import pushable
from subscriptions.audience import Audience, group_chats, load_audience, residents_chunk

log = logging.getLogger(__name__)

OnChunk = Callable[[int, int], Awaitable[None]]
TextsFor = Callable[[Item], dict[str, Any]]


async def plan_push(
    db: SessionFactory, item_id: int, *, chunk: int, texts_for: TextsFor, on_chunk: OnChunk
) -> int | None:
    """Plan the push of an approved item; returns the push id (None if not pushable)."""
    async with transaction(db) as session:
        item = await session.get_one(Item, item_id)
        if not pushable(item):
            log.info("item not pushable", extra={"item_id": item_id, "status": item.status})
            return None
        push = await _get_or_create_push(session, item, texts_for)
        if push.status != "planning":
            return push.id
        groups = list(
            await session.scalars(select(ItemMatch.group_id).where(ItemMatch.item_id == item_id))
        )
        audience = await load_audience(session, item, groups)
        last_id = await session.scalar(select(func.max(Resident.id))) or 0
        push_id, done_upto = push.id, push.planned_upto
        assert push_id is not None
        if done_upto == 0 and not audience.empty:
            await session.execute(_insert_chats(session, push_id, audience))
    number = 0
    while done_upto < last_id and not audience.empty:
        upto = min(done_upto + chunk, last_id)
        await _plan_chunk(db, push_id, audience, after_id=done_upto, upto_id=upto)
        done_upto, number = upto, number + 1
        await on_chunk(push_id, number)
    await _finish(db, push_id, item_id)
    await on_chunk(push_id, number + 1)
    return push_id


async def _get_or_create_push(session: AsyncSession, item: Item, texts_for: TextsFor) -> Push:
    push = await session.scalar(select(Push).where(Push.item_id == item.id))
    if push is None:
        await session.execute(
            _upsert(session, Push)
            .values(item_id=item.id, texts=texts_for(item), status="planning")
            .on_conflict_do_nothing()
        )
        push = await session.scalar(select(Push).where(Push.item_id == item.id))
    assert push is not None
    return push


async def _plan_chunk(
    db: SessionFactory, push_id: int, audience: Audience, *, after_id: int, upto_id: int
) -> None:
    rows = residents_chunk(audience, after_id=after_id, upto_id=upto_id).subquery()
    now = utcnow()
    source = select(
        literal(push_id).label("push_id"),
        rows.c.id,
        rows.c.region_id,
        rows.c.channel,
        rows.c.recipient,
        rows.c.status,
        literal(now, Delivery.__table__.c.next_attempt_at.type).label("next_attempt_at"),
        literal(now, Delivery.__table__.c.created_at.type).label("created_at"),
    ).where(literal(True))
    columns = [
        "push_id",
        "resident_id",
        "region_id",
        "channel",
        "recipient",
        "status",
        "next_attempt_at",
        "created_at",
    ]
    async with transaction(db) as session:
        insert = _upsert(session, Delivery).from_select(columns, source).on_conflict_do_nothing()
        await session.execute(insert)
        await session.execute(update(Push).where(Push.id == push_id).values(planned_upto=upto_id))


def _insert_chats(session: AsyncSession, push_id: int, audience: Audience) -> Insert:
    chats = group_chats(audience).subquery()
    now = utcnow()
    source = select(
        literal(push_id).label("push_id"),
        chats.c.id,
        chats.c.region_id,
        literal(ChannelKind.WECOM.value).label("channel"),
        chats.c.robot_key,
        literal(DeliveryStatus.QUEUED.value).label("status"),
        literal(now, Delivery.__table__.c.next_attempt_at.type).label("next_attempt_at"),
        literal(now, Delivery.__table__.c.created_at.type).label("created_at"),
    ).where(literal(True))
    columns = [
        "push_id",
        "group_chat_id",
        "region_id",
        "channel",
        "recipient",
        "status",
        "next_attempt_at",
        "created_at",
    ]
    return _upsert(session, Delivery).from_select(columns, source).on_conflict_do_nothing()


async def _finish(db: SessionFactory, push_id: int, item_id: int) -> None:
    async with transaction(db) as session:
        planned = await session.scalar(
            select(func.count(Delivery.id)).where(Delivery.push_id == push_id)
        )
        await session.execute(
            update(Push)
            .where(Push.id == push_id)
            .values(status="dispatching", planned=planned or 0, planned_at=utcnow())
        )
        await session.execute(
            update(Item).where(Item.id == item_id).values(status=ItemStatus.PUSHED)
        )


def _upsert(session: AsyncSession, model: type[Any]) -> Any:
    """The dialect's INSERT that knows ON CONFLICT DO NOTHING."""
    dialect = session.bind.dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(model)
