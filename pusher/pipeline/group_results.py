"""Customer-group tasks read back: each group's row moves to sent or failed, owners who
have not confirmed are reminded once, and a task is settled when all its groups are
final or when it is given up (:attr:`GroupTaskPolicy.cutoff`: ``owner_not_sent``).

Every step is a conditional update (a row ``waiting``, a task not reminded yet), so two
runs at once, or a run repeated, change nothing twice and remind nobody twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Update, func, select, update

from channels.base import ChannelError
from channels.wecom_groupmsg import GroupMsgClient, GroupSend
from pusher.db import SessionFactory, transaction
from pusher.models import Delivery, DeliveryStatus, GroupChat, GroupTask, Item, Push
from pusher.pipeline.group_rows import CHANNEL, SETTLED, WAITING
from pusher.pipeline.group_tasks import GroupTaskPolicy

log = logging.getLogger(__name__)

#: At most this many waiting tasks are read per run (oldest reminder first).
BATCH = 200
NOT_SENT = "owner_not_sent"
FAILED_MESSAGE = "群主未发送"
#: (task id, push title, owner, keeper user ids of its groups still waiting)
Remind = Callable[[GroupTask, str, list[int]], Awaitable[None]]


@dataclass
class Polled:
    """What one run of :func:`poll_tasks` did."""

    sent: int = 0
    failed: int = 0
    reminded: int = 0
    settled: int = 0
    errors: dict[str, int] = field(default_factory=dict)


async def poll_tasks(
    db: SessionFactory,
    client: GroupMsgClient,
    *,
    now: datetime,
    policy: GroupTaskPolicy,
    remind: Remind,
) -> Polled:
    """Read the results of every waiting task; remind and settle as due."""
    tally = Polled()
    async with db() as session:
        tasks = list(
            await session.scalars(
                select(GroupTask)
                .where(GroupTask.status == WAITING)
                .order_by(GroupTask.remind_at, GroupTask.id)
                .limit(BATCH)
            )
        )
    for task in tasks:
        chat_ids = await _waiting_chats(db, task)
        try:
            results = (
                await client.task_results(
                    str(task.msgid), sender=task.owner_userid, chat_ids=chat_ids
                )
                if chat_ids
                else []
            )
        except ChannelError as exc:
            tally.errors[exc.code] = tally.errors.get(exc.code, 0) + 1
            log.warning("group task not read", extra={"task": task.id, "code": exc.code})
            results = []
        sent, failed = await apply_results(db, task, results, now=now)
        tally.sent += sent
        tally.failed += failed
        await _after(db, task, now=now, policy=policy, remind=remind, tally=tally)
    return tally


async def apply_results(
    db: SessionFactory, task: GroupTask, results: Sequence[GroupSend], *, now: datetime
) -> tuple[int, int]:
    """Move the task's waiting rows to their platform state; (sent, failed) counts."""
    sent = failed = 0
    async with transaction(db) as session:
        for result in results:
            if result.status == "sent":
                values: dict[str, object] = {
                    "status": DeliveryStatus.SENT,
                    "sent_at": result.send_time or now,
                    "done_at": result.send_time or now,
                }
            elif result.status == "failed":
                values = {
                    "status": DeliveryStatus.FAILED,
                    "error_code": (result.error_code or "failed")[:64],
                    "error_message": (result.error_message or "企业微信未发出")[:500],
                    "done_at": now,
                }
            else:
                continue
            changed = await session.execute(
                _waiting_of(task).where(Delivery.recipient == result.chat_id).values(values)
            )
            n = int(getattr(changed, "rowcount", 0) or 0)
            if result.status == "sent":
                sent += n
            else:
                failed += n
    return sent, failed


def _waiting_of(task: GroupTask) -> Update:
    return update(Delivery).where(
        Delivery.provider_id == task.msgid,
        Delivery.push_id == task.push_id,
        Delivery.channel == CHANNEL,
        Delivery.status == DeliveryStatus.WAITING,
    )


async def _after(
    db: SessionFactory,
    task: GroupTask,
    *,
    now: datetime,
    policy: GroupTaskPolicy,
    remind: Remind,
    tally: Polled,
) -> None:
    """Settle the task when no group waits or it is past the cutoff; else remind once."""
    keepers = await _still_waiting(db, task)
    if keepers is None or now >= task.created_at + policy.cutoff:
        await _settle(db, task, now=now, policy=policy)
        tally.settled += 1
        return
    if task.reminded_at is None and now >= task.remind_at and await _claim_reminder(db, task, now):
        title = await _title(db, task.push_id)
        try:
            await remind(task, title, keepers)
        except Exception:  # a failed reminder must not stop the reading of other tasks
            log.exception("group task reminder failed", extra={"task": task.id})
        tally.reminded += 1


async def _waiting_chats(db: SessionFactory, task: GroupTask) -> list[str]:
    """The WeCom chat ids of the task's groups still waiting."""
    async with db() as session:
        found = await session.scalars(
            select(Delivery.recipient).where(
                Delivery.provider_id == task.msgid,
                Delivery.push_id == task.push_id,
                Delivery.channel == CHANNEL,
                Delivery.status == DeliveryStatus.WAITING,
            )
        )
    return sorted(str(c) for c in found if c)


async def _still_waiting(db: SessionFactory, task: GroupTask) -> list[int] | None:
    """The keepers of the task's groups still waiting (None: no group waits)."""
    async with db() as session:
        rows = (
            await session.execute(
                select(Delivery.id, GroupChat.keeper_user_id)
                .outerjoin(GroupChat, GroupChat.id == Delivery.group_chat_id)
                .where(
                    Delivery.provider_id == task.msgid,
                    Delivery.push_id == task.push_id,
                    Delivery.channel == CHANNEL,
                    Delivery.status == DeliveryStatus.WAITING,
                )
            )
        ).all()
    if not rows:
        return None
    return sorted({k for _, k in rows if k is not None})


async def _claim_reminder(db: SessionFactory, task: GroupTask, now: datetime) -> bool:
    async with transaction(db) as session:
        result = await session.execute(
            update(GroupTask)
            .where(GroupTask.id == task.id, GroupTask.reminded_at.is_(None))
            .values(reminded_at=now)
        )
    return bool(getattr(result, "rowcount", 0))


async def _settle(
    db: SessionFactory, task: GroupTask, *, now: datetime, policy: GroupTaskPolicy
) -> None:
    hours = round(policy.cutoff.total_seconds() / 3600)
    async with transaction(db) as session:
        await session.execute(
            _waiting_of(task).values(
                status=DeliveryStatus.FAILED,
                error_code=NOT_SENT,
                error_message=f"{FAILED_MESSAGE}：{hours} 小时内未在企业微信中确认发送",
                done_at=now,
            )
        )
        await session.execute(
            update(GroupTask)
            .where(GroupTask.id == task.id, GroupTask.status == WAITING)
            .values(status=SETTLED, settled_at=now)
        )


async def _title(db: SessionFactory, push_id: int) -> str:
    async with db() as session:
        title = await session.scalar(
            select(Item.title).join(Push, Push.item_id == Item.id).where(Push.id == push_id)
        )
    return title or ""


async def pushes_to_start(db: SessionFactory, *, since: datetime) -> list[int]:
    """Pushes since ``since`` with customer-group rows still queued (no task yet)."""
    async with db() as session:
        recent = select(Push.id).where(Push.created_at >= since).scalar_subquery()
        found = await session.scalars(
            select(func.distinct(Delivery.push_id)).where(
                Delivery.push_id.in_(recent),
                Delivery.channel == CHANNEL,
                Delivery.status == DeliveryStatus.QUEUED,
            )
        )
    return sorted(found)
