"""The item page's 群聊 section: which groups of each village got the push, and when.

Each group chat of the push: its kind (群机器人 / 客户群 / 人工转发, from the delivery's
channel), its state in words (待转发, 待群主确认, 已发送, 已转发, 未发出 with the reason),
when, who relayed it, and the opens of the short link naming it (``?g=``); per village,
the opens of the links naming the village or one of its groups.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.models import Delivery, DeliveryStatus, GroupChat, LinkOpen, Region
from pusher.web.local_time import localtime

#: The group kind a delivery's channel stands for.
KIND_NAMES = {"wecom": "群机器人", "wecom_group": "客户群", "relay": "人工转发"}
_SENT = {"relay": "已转发"}
_WAITING = {"relay": "待转发", "wecom_group": "待群主确认"}
_QUEUED = {"wecom_group": "正在创建群发"}


def group_state(channel: str, status: str) -> str:
    """A group delivery's state in the words of its kind."""
    if status in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED):
        return _SENT.get(channel, "已发送")
    if status == DeliveryStatus.WAITING:
        return _WAITING.get(channel, "待确认")
    if status == DeliveryStatus.QUEUED:
        return _QUEUED.get(channel, "排队中")
    if status == DeliveryStatus.SENDING:
        return "发送中"
    if status == DeliveryStatus.CANCELLED:
        return "已取消"
    return "未发出"


@dataclass
class GroupLine:
    """One group chat's line in the section."""

    chat_id: int
    name: str
    kind: str
    state: str
    status: str
    reason: str
    when: str
    by: str
    opens: int = 0


@dataclass
class Village:
    """A village's groups and its link opens."""

    name: str
    opens: int = 0
    groups: list[GroupLine] = field(default_factory=list)


async def group_section(
    db: AsyncSession, *, item_id: int, push_id: int, scope: frozenset[int] | None = None
) -> list[Village]:
    """The push's group deliveries by village (in region order), with opens."""
    query = (
        select(Delivery, GroupChat.name, Region.path)
        .join(GroupChat, GroupChat.id == Delivery.group_chat_id)
        .join(Region, Region.id == GroupChat.region_id)
        .where(Delivery.push_id == push_id, Delivery.group_chat_id.is_not(None))
        .order_by(Region.path, GroupChat.name, Delivery.id)
    )
    if scope is not None:
        query = query.where(Delivery.region_id.in_(scope or {-1}))
    rows = (await db.execute(query)).all()
    if not rows:
        return []
    villages = await _villages(db)
    opens = await _opens(db, item_id)
    out: dict[str, Village] = {}
    for delivery, name, path in rows:
        code, village_name = _village_of(path, villages)
        village = out.setdefault(code, Village(village_name, opens=opens.by_code.get(code, 0)))
        line = _line(delivery, name)
        line.opens = opens.by_chat.get(line.chat_id, 0)
        # a group's link that named no village still counts for the group's village
        village.opens += opens.unplaced.get(line.chat_id, 0)
        village.groups.append(line)
    return list(out.values())


def _line(d: Delivery, name: str) -> GroupLine:
    when: datetime | None = d.sent_at if d.status in ("sent", "delivered") else d.done_at
    reason = d.error_message or "" if d.status == DeliveryStatus.FAILED else ""
    return GroupLine(
        chat_id=int(d.group_chat_id or 0),
        name=name,
        kind=KIND_NAMES.get(d.channel, d.channel),
        state=group_state(d.channel, d.status),
        status=d.status,
        reason=reason,
        when=localtime(when or d.created_at),
        by=(d.provider_id or "") if d.provider == "relay" else "",
    )


async def _villages(db: AsyncSession) -> list[tuple[str, str, str]]:
    rows = await db.execute(
        select(Region.path, Region.code, Region.name).where(Region.kind == "village")
    )
    return [(p, c, n) for p, c, n in rows]


def _village_of(path: str, villages: list[tuple[str, str, str]]) -> tuple[str, str]:
    for village_path, code, name in villages:
        if path.startswith(village_path):
            return code, name
    return "", "镇级群"


@dataclass
class _Opens:
    by_chat: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    by_code: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unplaced: dict[int, int] = field(default_factory=lambda: defaultdict(int))


async def _opens(db: AsyncSession, item_id: int) -> _Opens:
    """Opens of the item's links per group chat, per village code, and per group chat
    for the links that named a group but no village."""
    rows = await db.execute(
        select(LinkOpen.group_chat_id, LinkOpen.region_code, func.sum(LinkOpen.opens))
        .where(LinkOpen.item_id == item_id)
        .group_by(LinkOpen.group_chat_id, LinkOpen.region_code)
    )
    out = _Opens()
    for chat, code, opens in rows:
        n = int(opens or 0)
        if chat:
            out.by_chat[chat] += n
        if code:
            out.by_code[code] += n
        elif chat:
            out.unplaced[chat] += n
    return out


def as_template(villages: list[Village]) -> list[dict[str, Any]]:
    """Plain dicts for the template."""
    return [
        {"name": v.name, "opens": v.opens, "groups": [g.__dict__ for g in v.groups]}
        for v in villages
    ]
