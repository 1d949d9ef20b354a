"""Corrections (更正): a new version of an approved item, sent to the first audience.

A correction is an item with ``corrects_id`` set (made here from the API, or by a
county source whose page changed). It goes through review like any item; planning
it takes no groups from matching: its audience is exactly who received the first
version (rows ``sent``, ``delivered`` or ``confirmed`` of the original push, group
chats included), each by the channel and address it received it on, once (the
(push, resident) and (push, chat) uniqueness holds). Its texts are marked 更正 and
say what changed.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import case, insert, literal, null, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.db import SessionFactory, rowcount, transaction
from pusher.errors import Conflict
from pusher.models import (
    PERSON_CHANNELS,
    RELAY_CHANNEL,
    Delivery,
    DeliveryStatus,
    Item,
    ItemStatus,
    Push,
    utcnow,
)
from pusher.pipeline.review import pushable

D = Delivery.__table__.c
RECEIVED = (DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.CONFIRMED)
_COPIED = ("resident_id", "group_chat_id", "region_id", "channel", "recipient")
KEEP = ("publisher", "region_id", "domain", "domains", "disclosure", "urgency", "source_url")
#: the title mark of a withdrawal notice (:mod:`pusher.pipeline.withdraw_notice`)
WITHDRAWN = "【撤回】"


def draft_correction(original: Item, *, title: str | None, body: str | None) -> Item:
    """A correction draft of ``original`` with the new title and/or body."""
    if original.status not in (ItemStatus.APPROVED, ItemStatus.PUSHED):
        raise Conflict("只有已审批发布的信息才能更正")
    if original.withdrawn_at is not None:
        raise Conflict("该信息已撤回，不能更正")
    fields: dict[str, Any] = {name: getattr(original, name) for name in KEEP}
    new_title, new_body = title or original.title, body or original.body
    if (new_title, new_body) == (original.title, original.body):
        raise Conflict("更正内容与原信息相同")
    return Item(**fields, title=new_title, body=new_body, corrects_id=original.id)


def what_changed(original: Item, item: Item) -> str:
    """One line for the summary: which parts changed."""
    parts = []
    if original.title != item.title:
        parts.append(f"标题改为「{item.title}」")
    if original.body != item.body:
        parts.append("正文有修改")
    return "；".join(parts) or "内容有更正"


async def diff_lines(original: Item, item: Item) -> list[str]:
    """The line diff (``-`` removed, ``+`` added) of title and body, for reviewers."""
    old = [original.title, *original.body.splitlines()]
    new = [item.title, *item.body.splitlines()]
    lines = await asyncio.to_thread(lambda: list(difflib.unified_diff(old, new, n=1, lineterm="")))
    return lines[2:]  # without the ---/+++ header


async def review_diff(session: AsyncSession, item: Item) -> list[str] | None:
    """The diff a reviewer sees for a correction (None for an ordinary item)."""
    if item.corrects_id is None:
        return None
    original = await session.get(Item, item.corrects_id)
    return None if original is None else await diff_lines(original, item)


def is_withdrawal_notice(item: Item) -> bool:
    """A withdrawal notice: a correction withdrawn from birth, its title marked 【撤回】."""
    return (
        item.corrects_id is not None
        and item.withdrawn_at is not None
        and item.title.startswith(WITHDRAWN)
    )


def marked(item: Item, original: Item | None) -> Item:
    """A detached copy of ``item`` whose texts say 更正 and what changed (a withdrawal
    notice says 撤回 already, and is left as it is)."""
    if is_withdrawal_notice(item):
        return item
    change = what_changed(original, item) if original is not None else "内容有更正"
    data = item.model_dump() | {
        "title": f"【更正】{item.title}"[:200],
        "body": f"更正说明：{change}。\n{item.body}",
    }
    return Item(**data)


async def plan_correction(
    db: SessionFactory,
    item_id: int,
    *,
    texts_for: Callable[[Item], dict[str, Any]],
    on_chunk: Callable[[int, int], Awaitable[None]],
) -> int | None:
    """Plan a correction's push to the first version's receivers; returns the push id."""
    async with transaction(db) as session:
        item = await session.get_one(Item, item_id)
        if not pushable(item) or item.corrects_id is None:
            return None
        if (await session.scalar(select(Push).where(Push.item_id == item_id))) is not None:
            return await session.scalar(select(Push.id).where(Push.item_id == item_id))
        original = await session.get(Item, item.corrects_id)
        texts = await asyncio.to_thread(texts_for, marked(item, original))  # jieba: a thread
        push = Push(item_id=item_id, texts=texts, status="planning")
        session.add(push)
        await session.flush()
        assert push.id is not None
        planned = await _copy_audience(session, push.id, item.corrects_id)
        push.status, push.planned, push.planned_at = "dispatching", planned, utcnow()
        await session.execute(
            update(Item).where(Item.id == item_id).values(status=ItemStatus.PUSHED)
        )
        push_id = push.id
    await on_chunk(push_id, 1)
    return push_id


async def _copy_audience(session: AsyncSession, push_id: int, original_item: int) -> int:
    """One row per row of the original push that was received: queued and due now, but
    a relayed group's row waits for its keeper and a customer group's carries no time
    (as planning writes them)."""
    first = select(Push.id).where(Push.item_id == original_item).scalar_subquery()
    now = utcnow()
    relay = RELAY_CHANNEL
    waiting, queued = DeliveryStatus.WAITING.value, DeliveryStatus.QUEUED.value
    due = literal(now, type_=D.next_attempt_at.type)
    rows = select(
        literal(push_id),
        *(getattr(D, name) for name in _COPIED),
        case((D.channel == relay, waiting), else_=queued),
        literal(now, type_=D.created_at.type),
        case((D.channel.in_(PERSON_CHANNELS), null()), else_=due),
    ).where(D.push_id == first, D.status.in_([s.value for s in RECEIVED]))
    columns = ["push_id", *_COPIED, "status", "created_at", "next_attempt_at"]
    done = await session.execute(insert(Delivery.__table__).from_select(columns, rows))
    return rowcount(done)
