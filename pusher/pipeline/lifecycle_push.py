"""After a push: stop it, withdraw (撤回) or expire (失效) its item.

Stopping a push cancels its waiting deliveries in one statement: rows ``queued``
(held for the morning, due again, or fresh in a claim range) become
``cancelled`` with ``error_code`` ``stopped``; rows being sent (``sending``)
finish as they are, and rows already sent stay sent. The push is marked
``stopped`` with who and why, and :func:`pusher.pipeline.claims.claim` checks
that mark, so a dispatch under way or a chunk planned after the stop claims
nothing more (it cancels what it finds instead).

An item with no push yet gets one made ``stopped``, so planning never starts.
(Who may do what is the web layer's: :func:`may_take_down`.)
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.audit import record
from pusher.db import rowcount
from pusher.errors import Conflict
from pusher.models import (
    RELAY_CHANNEL,
    Delivery,
    DeliveryRange,
    DeliveryStatus,
    Item,
    ItemStatus,
    Push,
    Role,
    Urgency,
    User,
)

D = Delivery.__table__.c
R = DeliveryRange.__table__.c
P = Push.__table__.c
STOPPED = "stopped"
STOP_CODE = "stopped"
_SENT_ITEMS = (ItemStatus.APPROVED, ItemStatus.PUSHED)


def may_take_down(user: User, item: Item) -> bool:
    """Leaders and admins may stop, withdraw and expire; a duty officer (值班) too,
    for an urgent warning."""
    if user.role in (Role.ADMIN, Role.LEADER):
        return True
    return user.duty_officer and item.urgency == Urgency.URGENT


def shown(now: datetime) -> ColumnElement[bool]:
    """Items still shown in notice lists: not withdrawn, not expired at ``now``."""
    items = Item.__table__.c
    live = items.expires_at.is_(None) | (items.expires_at > now)
    return items.withdrawn_at.is_(None) & live


def expired(item: Item, now: datetime) -> bool:
    """Whether ``item`` has reached its end date (失效)."""
    return item.expires_at is not None and item.expires_at <= now


async def is_stopped(session: AsyncSession, push_id: int) -> bool:
    """Whether the push was stopped (dispatch then claims nothing)."""
    return await session.scalar(select(P.status).where(P.id == push_id)) == STOPPED


async def cancel_waiting(
    session: AsyncSession, push_id: int, *, now: datetime, channel: str | None = None
) -> int:
    """Cancel the push's queued deliveries (of ``channel``, or all) and close its
    claim ranges; returns how many were cancelled."""
    rows = [D.push_id == push_id, D.status == DeliveryStatus.QUEUED.value]
    ranges = [R.push_id == push_id, R.claimed_upto < R.upto_id]
    if channel is not None:
        rows.append(D.channel == channel)
        ranges.append(R.channel == channel)
    values = {"status": DeliveryStatus.CANCELLED.value, "error_code": STOP_CODE}
    done = values | {"next_attempt_at": None, "done_at": now}
    cancelled = await session.execute(update(Delivery.__table__).where(*rows).values(done))
    await session.execute(
        update(DeliveryRange.__table__).where(*ranges).values(claimed_upto=R.upto_id)
    )
    return rowcount(cancelled)


async def cancel_relays(session: AsyncSession, push_id: int, *, now: datetime) -> int:
    """Cancel the push's relay tasks still waiting for their keepers (转发清单): a stopped
    or withdrawn notice must not be forwarded, and its row must not stay 待转发 in the
    record (a push counts as done without them, so this runs for a done push too)."""
    cancelled = await session.execute(
        update(Delivery.__table__)
        .where(
            D.push_id == push_id,
            D.channel == RELAY_CHANNEL,
            D.status == DeliveryStatus.WAITING.value,
        )
        .values(status=DeliveryStatus.CANCELLED.value, error_code=STOP_CODE, done_at=now)
    )
    return rowcount(cancelled)


async def stop_push(
    session: AsyncSession, item: Item, *, actor: str, reason: str, now: datetime
) -> int:
    """Stop the item's push; returns how many waiting deliveries were cancelled.

    A push already done is left as it is (nothing waits). Raises :class:`Conflict`
    if the item was never approved or its push is stopped already.
    """
    push = await _push_of(session, item)
    if push.status == STOPPED and push.stopped_at is not None:
        raise Conflict("该推送已停止")
    cancelled = 0
    if push.status != "done":  # a finished push has nothing waiting: it stays done
        await _mark_stopped(session, push, actor=actor, reason=reason, now=now)
        assert push.id is not None
        cancelled = await cancel_waiting(session, push.id, now=now)
    assert push.id is not None
    cancelled += await cancel_relays(session, push.id, now=now)
    detail = {"reason": reason, "push_id": push.id, "cancelled": cancelled}
    record(session, actor=actor, action="push.stop", target=f"item:{item.id}", detail=detail)
    return cancelled


async def withdraw_item(
    session: AsyncSession, item: Item, *, actor: str, reason: str, now: datetime
) -> int:
    """Withdraw (撤回) ``item``: stop its push if still going, take its page down;
    returns how many waiting deliveries were cancelled."""
    if item.withdrawn_at is not None:
        raise Conflict("该信息已撤回")
    push = await _push_of(session, item)
    cancelled = 0
    if push.status != "done" and push.stopped_at is None:
        await _mark_stopped(session, push, actor=actor, reason=reason, now=now)
    if push.status == STOPPED:  # a stop before this one may have left rows planned since
        assert push.id is not None
        cancelled = await cancel_waiting(session, push.id, now=now)
    assert push.id is not None
    cancelled += await cancel_relays(session, push.id, now=now)
    item.withdrawn_at, item.withdraw_reason, item.updated_at = now, reason, now
    session.add(item)
    detail = {"reason": reason, "push_id": push.id, "cancelled": cancelled}
    record(session, actor=actor, action="item.withdraw", target=f"item:{item.id}", detail=detail)
    return cancelled


async def expire_item(
    session: AsyncSession, item: Item, *, actor: str, reason: str, at: datetime
) -> None:
    """Mark ``item`` 失效 from ``at`` on (now or a later end date)."""
    if item.withdrawn_at is not None:
        raise Conflict("该信息已撤回")
    item.expires_at, item.updated_at = at, datetime.now(at.tzinfo)
    session.add(item)
    detail = {"reason": reason, "at": at.isoformat()}
    record(session, actor=actor, action="item.expire", target=f"item:{item.id}", detail=detail)


async def _push_of(session: AsyncSession, item: Item) -> Push:
    """The item's push; one made ``stopped`` if planning has not begun."""
    if item.status not in _SENT_ITEMS:
        raise Conflict("只有已审批的信息才能停止推送或撤回")
    push = await session.scalar(select(Push).where(Push.item_id == item.id).with_for_update())
    if push is None:
        assert item.id is not None
        push = Push(item_id=item.id, status=STOPPED, texts={})
        session.add(push)
        await session.flush()
    return push


async def _mark_stopped(
    session: AsyncSession, push: Push, *, actor: str, reason: str, now: datetime
) -> None:
    push.status, push.stopped_at, push.stopped_by, push.stop_reason = STOPPED, now, actor, reason
    session.add(push)
    await session.flush()
