"""Relays waiting for a keeper: the staff notices they bring (:mod:`.notify` sends them)
and their escalation.

- An urgent notice planned for an ordinary WeChat group tells the group's keeper at
  once (round 1), with the text ready to forward (:func:`pusher.summary.relay.relay_text`).
- :func:`escalate_relays` marks a relay still waiting after ``relay_urgent_minutes``
  (urgent) or past ``relay_day_end_hour`` of its day (normal) as escalated, once: the
  row's ``attempts`` goes from 0 to 1 in one conditional UPDATE (dispatch never claims
  relay rows, so the count is free for this), with an audit row ``relay.escalated``.
  An escalated relay still waiting is round 2: the village's other keepers and the
  office (publishers and duty officers) are told.

The subject is ``relay:<delivery id>``; a relay that was marked, stopped or withdrawn
waits no more and brings no notice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.audit import record
from pusher.db import SessionFactory, rowcount, transaction
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
from pusher.staff.waiting import Notice
from pusher.summary.relay import relay_text

#: relays older than this are not notified nor escalated (a backlog is not news)
HORIZON = timedelta(days=3)
LIMIT = 500
BEIJING = ZoneInfo("Asia/Shanghai")
D = Delivery.__table__.c


@dataclass(frozen=True, slots=True)
class Waiting:
    delivery: Delivery
    chat: GroupChat
    item: Item
    texts: dict[str, Any]
    region_path: str


def _waiting(now: datetime) -> Select[Any]:
    return (
        select(Delivery, GroupChat, Item, Push.texts, Region.path)
        .join(GroupChat, GroupChat.id == Delivery.group_chat_id)
        .join(Region, Region.id == GroupChat.region_id)
        .join(Push, Push.id == Delivery.push_id)
        .join(Item, Item.id == Push.item_id)
        .where(
            Delivery.channel == RELAY_CHANNEL,
            Delivery.status == DeliveryStatus.WAITING,
            Delivery.created_at >= now - HORIZON,
            Push.status != "stopped",
            Item.withdrawn_at.is_(None),
        )
        .order_by(Delivery.id.desc())
        .limit(LIMIT)
    )


async def _rows(session: AsyncSession, now: datetime) -> list[Waiting]:
    return [Waiting(*row) for row in await session.execute(_waiting(now))]


async def waiting_relays(db: SessionFactory, *, now: datetime) -> list[Waiting]:
    """The relays still waiting (the newest :data:`LIMIT` within :data:`HORIZON`), read
    once per staff-notice run for both :func:`escalate_relays` and :func:`relay_notices`."""
    async with db() as session:
        return await _rows(session, now)


def due_at(planned: datetime, *, urgent: bool, urgent_after: timedelta, day_end: int) -> datetime:
    """When a relay planned at ``planned`` escalates: ``urgent_after`` later for an urgent
    notice, else at ``day_end`` o'clock Beijing time that day (the next day's when it
    was planned later)."""
    if urgent:
        return planned + urgent_after
    local = planned.astimezone(BEIJING)
    end = local.replace(hour=day_end, minute=0, second=0, microsecond=0)
    return end if local < end else end + timedelta(days=1)


async def escalate_relays(
    db: SessionFactory,
    *,
    now: datetime,
    urgent_after: timedelta,
    day_end: int,
    rows: Sequence[Waiting] | None = None,
) -> int:
    """Mark the relays due for escalation, once each; returns how many were marked.

    ``rows`` are the relays :func:`waiting_relays` read for this run (read here when
    not given); a row this call marks gets ``attempts`` 1 in memory too, so the same
    rows serve :func:`relay_notices` without reading them again."""
    if rows is None:
        rows = await waiting_relays(db, now=now)
    marked = 0
    for row in rows:
        urgent = row.item.urgency == Urgency.URGENT
        planned = row.delivery.created_at
        if row.delivery.attempts or now < due_at(
            planned, urgent=urgent, urgent_after=urgent_after, day_end=day_end
        ):
            continue
        async with transaction(db) as session:
            changed = await session.execute(
                update(Delivery.__table__)
                .where(
                    D.id == row.delivery.id,
                    D.attempts == 0,
                    D.status == DeliveryStatus.WAITING.value,
                )
                .values(attempts=1)
            )
            if rowcount(changed) == 1:
                marked += 1
                row.delivery.attempts = 1
                detail = {"chat": row.chat.name, "item_id": row.item.id, "urgent": urgent}
                record(
                    session,
                    actor="system",
                    action="relay.escalated",
                    target=f"delivery:{row.delivery.id}",
                    detail=detail,
                )
    return marked


async def relay_notices(
    session: AsyncSession,
    users: Sequence[User],
    *,
    now: datetime,
    rows: Sequence[Waiting] | None = None,
) -> list[Notice]:
    """Round 1 to the keeper of an urgent relay; round 2, once escalated, to the
    village's other keepers and the office. ``rows`` as for :func:`escalate_relays`
    (read here when not given). A fixed number of queries however many rows wait."""
    by_id = {u.id: u for u in users}
    office = tuple(
        u.id for u in users if u.id is not None and (u.role == Role.PUBLISHER or u.duty_officer)
    )
    if rows is None:
        rows = await _rows(session, now)
    keepers = await _keepers(session) if any(r.delivery.attempts for r in rows) else []
    notices: list[Notice] = []
    for row in rows:
        delivery, chat, item = row.delivery, row.chat, row.item
        subject = f"relay:{delivery.id}"
        urgent = item.urgency == Urgency.URGENT
        keeper = chat.keeper_user_id
        if urgent and keeper in by_id and keeper is not None:
            text = relay_text(row.texts, chat.id or 0)
            notices.append(
                Notice(
                    subject=subject,
                    round=1,
                    user_ids=(keeper,),
                    title="【紧急】请转发到微信群",
                    text=f"【紧急】请转发到「{chat.name}」：\n{text}",
                    path="/relay",
                )
            )
        if delivery.attempts:
            others = _other_keepers(keepers, row, by_id)
            notices += _escalations(row, subject, others, office)
    return notices


def _escalations(
    row: Waiting, subject: str, others: tuple[int, ...], office: tuple[int, ...]
) -> list[Notice]:
    said = f"「{row.chat.name}」还没有转发「{row.item.title[:30]}」"
    out = []
    if others:
        out.append(
            Notice(
                subject=subject,
                round=2,
                user_ids=others,
                title="村里微信群待转发",
                text=f"{said}，请协助转发或联系转发人",
                path="/relay",
            )
        )
    office = tuple(u for u in office if u not in others)
    if office:
        out.append(
            Notice(
                subject=subject,
                round=2,
                user_ids=office,
                title="微信群转发超时",
                text=f"{said}，请联系转发人",
                path=f"/items/{row.item.id}",
            )
        )
    return out


async def _keepers(session: AsyncSession) -> list[tuple[int, str]]:
    """(keeper, region path) of every active group with a keeper."""
    rows = await session.execute(
        select(GroupChat.keeper_user_id, Region.path)
        .join(Region, Region.id == GroupChat.region_id)
        .where(GroupChat.active.is_(True), GroupChat.keeper_user_id.is_not(None))
        .distinct()
    )
    return [(keeper, path) for keeper, path in rows if keeper is not None]


def _other_keepers(
    keepers: Sequence[tuple[int, str]], row: Waiting, by_id: dict[int | None, User]
) -> tuple[int, ...]:
    """Keepers of the village's other active groups (reachable ones)."""
    village = "/".join(row.region_path.split("/")[:4]) + "/"  # /county/town/village/
    mine = row.chat.keeper_user_id
    found = {k for k, path in keepers if path.startswith(village) and k != mine and k in by_id}
    return tuple(sorted(found))
