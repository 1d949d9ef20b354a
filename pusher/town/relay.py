"""The relay list (转发清单): notices a keeper forwards to the ordinary WeChat groups they
keep, and the keeper's one tap per group — 已转发, or 未能转发 with a reason.

A relayed group's delivery row is planned ``waiting`` for its keeper (``recipient`` is
the keeper's user id). 已转发 makes it ``sent`` (who: ``provider_id``, the account that
tapped; when: ``sent_at``; ``provider`` = relay); 未能转发 makes it ``failed`` with
``relay_refused`` and the reason, which puts it on the follow-up list. Either is one
conditional UPDATE of a waiting row, so a second tap (or two at once) changes nothing.
Only the group's keeper marks it (an administrator too); a push stopped or an item
withdrawn takes its rows off the list and refuses marks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.db import rowcount
from pusher.errors import Conflict, Forbidden, InvalidInput, NotFound
from pusher.models import (
    RELAY_CHANNEL,
    Delivery,
    DeliveryStatus,
    GroupChat,
    Item,
    Push,
    Region,
    Role,
    Urgency,
    User,
)
from pusher.summary.relay import relay_text

REFUSED = "relay_refused"
REASONS = {"dissolved": "群已解散", "muted": "无发言权限", "other": "其他"}
MAX_REASON = 200
LIMIT = 100
D = Delivery.__table__.c


@dataclass(frozen=True, slots=True)
class RelayRow:
    delivery_id: int
    item_id: int
    title: str
    urgent: bool
    chat_name: str
    region_name: str
    status: str
    planned_at: datetime
    sent_at: datetime | None
    note: str  # why not relayed, or who relayed it
    text: str  # ready to paste into the group


def _rows() -> Select[Any]:
    return (
        select(Delivery, GroupChat.name, Region.name, Item, Push.texts)
        .join(GroupChat, GroupChat.id == Delivery.group_chat_id)
        .join(Region, Region.id == GroupChat.region_id)
        .join(Push, Push.id == Delivery.push_id)
        .join(Item, Item.id == Push.item_id)
        .where(
            Delivery.channel == RELAY_CHANNEL,
            Push.status != "stopped",
            Item.withdrawn_at.is_(None),
            Delivery.status != DeliveryStatus.CANCELLED,
        )
    )


async def relay_list(session: AsyncSession, user: User) -> list[RelayRow]:
    """The notices for the groups ``user`` keeps: urgent ones still waiting on top, then
    newest first."""
    query = _rows().where(GroupChat.keeper_user_id == user.id)
    waiting_urgent = case(
        ((Item.urgency == Urgency.URGENT) & (Delivery.status == DeliveryStatus.WAITING), 0),
        else_=1,
    )
    query = query.order_by(waiting_urgent, Delivery.id.desc()).limit(LIMIT)
    out = []
    for delivery, chat_name, region_name, item, texts in await session.execute(query):
        assert delivery.id is not None and item.id is not None
        note = delivery.error_message or ""
        if delivery.status == DeliveryStatus.SENT:
            note = delivery.provider_id or ""
        text = relay_text(texts, delivery.group_chat_id or 0)
        row = RelayRow(
            delivery.id, item.id, item.title, item.urgency == Urgency.URGENT,
            chat_name, region_name, delivery.status, delivery.created_at,
            delivery.sent_at, note, text,
        )  # fmt: skip
        out.append(row)
    return out


async def _task(session: AsyncSession, delivery_id: int, user: User) -> Delivery:
    found = (await session.execute(_base(delivery_id))).first()
    if found is None:
        raise NotFound("这条转发任务不存在。")
    delivery, keeper, withdrawn, push_status = found
    if keeper != user.id and user.role != Role.ADMIN:
        raise Forbidden("只有这个群的转发人可以登记转发结果。")
    if withdrawn is not None or push_status == "stopped":
        raise Conflict("这条信息已撤回或已停止推送，不要再转发了。")
    if delivery.status == DeliveryStatus.CANCELLED:
        raise Conflict("这条转发任务已取消（群聊已停用）。")
    assert isinstance(delivery, Delivery)
    return delivery


def _base(delivery_id: int) -> Select[Any]:
    return (
        select(Delivery, GroupChat.keeper_user_id, Item.withdrawn_at, Push.status)
        .join(GroupChat, GroupChat.id == Delivery.group_chat_id)
        .join(Push, Push.id == Delivery.push_id)
        .join(Item, Item.id == Push.item_id)
        .where(Delivery.id == delivery_id, Delivery.channel == RELAY_CHANNEL)
    )


async def mark_relayed(
    session: AsyncSession, delivery_id: int, user: User, *, now: datetime
) -> bool:
    """已转发: True when this tap recorded it, False when it was recorded already."""
    await _task(session, delivery_id, user)
    values = {
        "status": DeliveryStatus.SENT.value, "sent_at": now, "done_at": now,
        "provider": "relay", "provider_id": user.username,
    }  # fmt: skip
    return await _settle(session, delivery_id, values)


def clean_reason(code: str, text: str) -> str:
    """The reason as shown: the chosen one, with the text typed (required for 其他)."""
    label = REASONS.get(code.strip())
    if label is None:
        raise InvalidInput("请选择未能转发的原因。", field="reason")
    said = " ".join(text.split())[:MAX_REASON]
    if code == "other" and not said:
        raise InvalidInput("选择“其他”时请写明原因。", field="note")
    return f"{label}：{said}" if said else label


async def mark_refused(
    session: AsyncSession, delivery_id: int, user: User, reason: str, *, now: datetime
) -> bool:
    """未能转发: True when this tap recorded it, False when it was recorded already."""
    await _task(session, delivery_id, user)
    values = {
        "status": DeliveryStatus.FAILED.value, "done_at": now, "provider": "relay",
        "provider_id": user.username, "error_code": REFUSED, "error_message": reason[:500],
    }  # fmt: skip
    return await _settle(session, delivery_id, values)


async def _settle(session: AsyncSession, delivery_id: int, values: dict[str, Any]) -> bool:
    result = await session.execute(
        update(Delivery.__table__)
        .where(D.id == delivery_id, D.status == DeliveryStatus.WAITING.value)
        .values(values)
    )
    return rowcount(result) == 1
