"""A bound resident's own choices: topics, pausing WeChat or SMS, and their notices.

Channel changes re-address the messages still waiting for them, as the console does
(:func:`pusher.pipeline.readdress.follow_resident`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.models import (
    Delivery,
    DeliveryStatus,
    Item,
    Push,
    Region,
    Resident,
    Subscription,
    Topic,
    WxBinding,
    deliveries_of,
    utcnow,
)
from pusher.pipeline.lifecycle_push import shown
from pusher.pipeline.readdress import follow_resident

NOTICES = 50


@dataclass(frozen=True)
class Mine:
    """One resident the follower is bound to (``proxy``: received for them, 代收)."""

    resident: Resident
    region: Region
    proxy: bool


async def residents_of(session: AsyncSession, openid: str) -> list[Mine]:
    """The residents bound to this follower, their own record first."""
    rows = await session.execute(
        select(Resident, Region, WxBinding.proxy)
        .join(WxBinding, WxBinding.resident_id == Resident.id)
        .join(Region, Region.id == Resident.region_id)
        .where(WxBinding.openid == openid, WxBinding.status == "bound")
        .order_by(WxBinding.proxy, Resident.id)
    )
    return [Mine(r, g, p) for r, g, p in rows.all()]


async def mine(session: AsyncSession, openid: str, resident_id: int) -> Mine | None:
    """One of the follower's residents, or None (someone else's: not to be touched)."""
    return next(
        (m for m in await residents_of(session, openid) if m.resident.id == resident_id), None
    )


async def topics(session: AsyncSession, resident_id: int) -> list[tuple[Topic, bool]]:
    """Every active topic, in the office's order, and whether the resident follows it."""
    rows = await session.scalars(
        select(Topic)
        .where(Topic.active.is_(True))
        .order_by(Topic.position, Topic.builtin.desc(), Topic.id)
    )
    subs = await session.scalars(
        select(Subscription).where(Subscription.resident_id == resident_id)
    )
    on = {s.topic_id for s in subs if not s.opted_out}
    return [(t, t.id in on) for t in rows]


async def set_topic(session: AsyncSession, resident_id: int, topic_id: int, on: bool) -> None:
    """Follow or unfollow a topic (an unfollowed topic is kept as ``opted_out``)."""
    row = await session.get(Subscription, (resident_id, topic_id))
    if row is None:
        session.add(Subscription(resident_id=resident_id, topic_id=topic_id, opted_out=not on))
    else:
        row.opted_out = not on


async def set_channels(
    session: AsyncSession, resident: Resident, *, wechat: bool, sms: bool
) -> int:
    """Pause or resume WeChat and SMS; the waiting messages follow. Returns rows changed."""
    resident.wechat_opt_out, resident.sms_opt_out = not wechat, not sms
    await session.flush()
    return await follow_resident(session, resident, utcnow())


@dataclass(frozen=True)
class Notice:
    """A notice sent to one of the follower's residents."""

    item_id: int
    title: str
    at: datetime
    channel: str
    status: str
    name: str


async def notices(
    session: AsyncSession, residents: list[Mine], *, search: str = "", limit: int = NOTICES
) -> list[Notice]:
    """The notices sent to these residents, newest first, optionally by words in the title."""
    ids = [m.resident.id for m in residents if m.resident.id is not None]
    if not ids:
        return []
    query = (
        select(
            Item.id,
            Item.title,
            Delivery.created_at,
            Delivery.channel,
            Delivery.status,
            Delivery.resident_id,
        )
        .join(Push, Push.id == Delivery.push_id)
        .join(Item, Item.id == Push.item_id)
        .where(deliveries_of(ids), shown(utcnow()))
        .where(Delivery.status != DeliveryStatus.CANCELLED.value)  # stopped before sent
        .order_by(Delivery.id.desc())
        .limit(limit)
    )
    words = search.strip()[:50]
    if words:
        query = query.where(Item.title.contains(words) | Item.body.contains(words))
    names = {m.resident.id: m.resident.name for m in residents}
    rows = (await session.execute(query)).all()
    return [Notice(i, t, at, c, s, names.get(r, "")) for i, t, at, c, s, r in rows]
