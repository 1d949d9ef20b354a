"""A customer-group task's writes: the task and its rows move together, each by a
conditional update (a task ``creating``, a row ``queued``), so a repeated or concurrent
run changes nothing twice. Used by :mod:`.group_tasks`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import PermanentError
from pusher.db import SessionFactory, transaction
from pusher.models import Delivery, DeliveryStatus, GroupTask

CHANNEL = "wecom_group"
PROVIDER = "wecom"
CREATING, WAITING, SETTLED, FAILED = "creating", "waiting", "settled", "failed"
REFUSED_MESSAGE = "企业微信未接受向该群群发（群已解散、不属于该群主或今日已群发过）"


@dataclass(frozen=True, slots=True)
class Row:
    """A queued customer-group row: its delivery, our chat id, WeCom's chat id."""

    delivery_id: int
    chat_id: int
    wecom_chat_id: str


async def started(
    db: SessionFactory, task: GroupTask, msgid: str, refused: Sequence[str], rows: list[Row],
    *, now: datetime,
) -> None:
    """The task exists: it waits, its rows wait for the owner (refused chats fail)."""
    refused_set = set(refused)
    waiting = [r.delivery_id for r in rows if r.wecom_chat_id not in refused_set]
    failed = [r for r in rows if r.wecom_chat_id in refused_set]
    async with transaction(db) as session:
        await session.execute(
            update(GroupTask)
            .where(GroupTask.id == task.id, GroupTask.status == CREATING)
            .values(status=WAITING, msgid=msgid, error_code=None)
        )
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_(waiting), Delivery.status == DeliveryStatus.QUEUED)
            .values(status=DeliveryStatus.WAITING, provider=PROVIDER, provider_id=msgid,
                    next_attempt_at=None, attempts=Delivery.attempts + 1)
        )
        await fail_rows(session, failed, now=now, code="refused", message=REFUSED_MESSAGE,
                         msgid=msgid)


async def task_refused(
    db: SessionFactory, task: GroupTask, rows: list[Row], exc: PermanentError, *, now: datetime
) -> None:
    message = f"企业微信拒绝创建群发任务（{exc.code}）：{exc.message or ''}"[:500]
    async with transaction(db) as session:
        await session.execute(
            update(GroupTask)
            .where(GroupTask.id == task.id, GroupTask.status == CREATING)
            .values(status=FAILED, error_code=exc.code[:64], settled_at=now)
        )
        await fail_rows(session, rows, now=now, code=exc.code, message=message)


async def note(db: SessionFactory, task: GroupTask, code: str) -> None:
    async with transaction(db) as session:
        await session.execute(
            update(GroupTask).where(GroupTask.id == task.id).values(error_code=code[:64])
        )


async def finish_task(db: SessionFactory, task: GroupTask, *, status: str, now: datetime) -> None:
    async with transaction(db) as session:
        await session.execute(
            update(GroupTask)
            .where(GroupTask.id == task.id, GroupTask.status == CREATING)
            .values(status=status, settled_at=now)
        )


async def fail_rows(
    session: AsyncSession, rows: Sequence[Row], *, now: datetime, code: str, message: str,
    msgid: str | None = None,
) -> None:
    if not rows:
        return
    await session.execute(
        update(Delivery)
        .where(
            Delivery.id.in_([r.delivery_id for r in rows]),
            Delivery.status == DeliveryStatus.QUEUED,
        )
        .values(status=DeliveryStatus.FAILED, provider=PROVIDER, provider_id=msgid,
                error_code=code[:64], error_message=message[:500], next_attempt_at=None,
                done_at=now)
    )
