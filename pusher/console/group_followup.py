"""Customer groups for follow-up: mass messages whose owner was reminded and still has
not confirmed (groups a message did not reach are listed beside the keepers' 未能转发, by
:mod:`pusher.console.followup`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.models import Delivery, DeliveryStatus, GroupChat, GroupTask, Item, Push, Region

LIMIT = 200


@dataclass(frozen=True, slots=True)
class GroupFollowup:
    """One customer group to follow up: which item, whose group, what happened."""

    delivery_id: int
    push_id: int
    title: str
    chat: str
    place: str
    owner: str
    status: str
    reason: str
    reminded_at: datetime | None


async def unconfirmed_groups(
    session: AsyncSession, scope: frozenset[int] | None
) -> list[GroupFollowup]:
    """Customer-group rows still waiting after their owner was reminded, in the viewer's
    scope."""
    task = and_(GroupTask.push_id == Delivery.push_id, GroupTask.msgid == Delivery.provider_id)
    query = (
        select(
            Delivery, Item.title, GroupChat.name, Region.name, GroupChat.owner_userid,
            GroupTask.reminded_at,
        )
        .join(GroupChat, GroupChat.id == Delivery.group_chat_id)
        .join(Region, Region.id == Delivery.region_id)
        .join(Push, Push.id == Delivery.push_id)
        .join(Item, Item.id == Push.item_id)
        .join(GroupTask, task)
        .where(
            Delivery.channel == "wecom_group",
            Delivery.status == DeliveryStatus.WAITING,
            GroupTask.reminded_at.is_not(None),
        )
        .order_by(Delivery.push_id.desc(), Region.path, GroupChat.name)
        .limit(LIMIT)
    )
    if scope is not None:
        query = query.where(Delivery.region_id.in_(scope or {-1}))
    return [
        GroupFollowup(
            delivery_id=int(d.id or 0),
            push_id=d.push_id,
            title=title,
            chat=chat,
            place=place,
            owner=owner or "",
            status="群主未确认（已提醒）",
            reason=d.error_message or "",
            reminded_at=reminded,
        )
        for d, title, chat, place, owner, reminded in await session.execute(query)
    ]
