"""Customer-group (客户群) mass messages: one WeCom task per (push, owner), exactly once.

A push plans its customer-group rows ``queued`` (``channel="wecom_group"``). Here they
are grouped by the group's owner, and for each owner a :class:`~pusher.models.GroupTask`
row is written (``creating``, unique per push and owner) *before* the mass-message task
is created through the API; once WeCom answers, the task becomes ``waiting`` with its
``msgid`` and the rows ``waiting`` for the owner to confirm (the chat ids WeCom refused
fail at once). :mod:`.group_results` reads the outcomes back.

Exactly once: a task row is created by one run only (the insert is the claim). A run
that finds a ``creating`` task older than :attr:`GroupTaskPolicy.lease` (its creator
died, or its call timed out) claims it again with a conditional update and first looks
the task up by its owner, time and text (``list_tasks``): a task WeCom created is
adopted, never created a second time. A call that fails before WeCom could accept it
(a transient error) is simply tried again by a later run.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import PermanentError, TransientError, UnknownOutcome
from channels.wecom_groupmsg import GroupMessage, GroupMsgClient
from pusher.db import SessionFactory, transaction
from pusher.models import (
    Delivery,
    DeliveryStatus,
    GroupChat,
    GroupTask,
    Item,
    Push,
    Urgency,
)
from pusher.pipeline.group_rows import (
    CHANNEL,
    CREATING,
    FAILED,
    SETTLED,
    Row,
    fail_rows,
    finish_task,
    note,
    started,
    task_refused,
)
from pusher.pipeline.group_text import group_link, plain_group_text

log = logging.getLogger(__name__)

NOT_CREATED = "not_created"
NO_OWNER_MESSAGE = "该客户群未登记群主，无法群发"
NOT_CONFIGURED_MESSAGE = "未配置企业微信应用（PUSHER_WECOM_APP__*），无法向客户群群发"


@dataclass(frozen=True, slots=True)
class GroupTaskPolicy:
    """When owners are reminded, when a task is given up, how long a creation is left
    to the run that started it."""

    remind_after: timedelta = timedelta(minutes=30)
    remind_after_urgent: timedelta = timedelta(minutes=10)
    cutoff: timedelta = timedelta(hours=24)
    lease: timedelta = timedelta(minutes=2)


@dataclass
class Created:
    """What one run of :func:`create_tasks` did."""

    created: int = 0
    adopted: int = 0  # found by list_tasks after an unknown outcome
    failed: int = 0
    refused_chats: int = 0
    codes: dict[str, int] = field(default_factory=dict)


async def create_tasks(
    db: SessionFactory,
    client: GroupMsgClient | None,
    push_id: int,
    *,
    now: datetime,
    policy: GroupTaskPolicy,
) -> Created:
    """Create the push's customer-group tasks not created yet; ``client`` None: the
    WeCom application is not configured, and the rows fail with that reason."""
    tally = Created()
    async with transaction(db) as session:
        push = await session.get(Push, push_id)
        if push is None:
            return tally
        item = await session.get_one(Item, push.item_id)
        rows = await _queued(session, push_id)
        everyone = [r for rs in rows.values() for r in rs]
        if client is None:
            await fail_rows(session, everyone, now=now, code="not_configured",
                             message=NOT_CONFIGURED_MESSAGE)
            return tally
        if push.created_at <= now - policy.cutoff:  # never created in time: given up
            await _give_up(session, push_id, everyone, now=now, policy=policy)
            return tally
        await fail_rows(session, rows.pop("", []), now=now, code="no_owner",
                         message=NO_OWNER_MESSAGE)
        urgent = item.urgency == Urgency.URGENT
        remind_at = now + (policy.remind_after_urgent if urgent else policy.remind_after)
        fresh = await _insert_tasks(session, push_id, sorted(rows), now=now, remind_at=remind_at)
        texts, window_start = dict(push.texts), push.created_at
    async with db() as session:
        tasks = list(
            await session.scalars(
                select(GroupTask).where(GroupTask.push_id == push_id, GroupTask.status == CREATING)
            )
        )
    for task in tasks:
        adopt = task.id not in fresh
        if adopt and not await _reclaim(db, task, now=now, lease=policy.lease):
            continue
        job = _Job(db, client, task, texts, window_start, now)
        await job.run(rows.get(task.owner_userid, []), tally, look_up_first=adopt)
    return tally


async def _queued(session: AsyncSession, push_id: int) -> dict[str, list[Row]]:
    """The push's queued customer-group rows by owner ("" for a group without one)."""
    found = await session.execute(
        select(Delivery.id, GroupChat.id, GroupChat.owner_userid, GroupChat.wecom_chat_id)
        .join(GroupChat, GroupChat.id == Delivery.group_chat_id)
        .where(
            Delivery.push_id == push_id,
            Delivery.channel == CHANNEL,
            Delivery.status == DeliveryStatus.QUEUED,
        )
        .order_by(Delivery.id)
    )
    by_owner: dict[str, list[Row]] = defaultdict(list)
    for delivery_id, chat_id, owner, wecom_chat_id in found:
        by_owner[owner or ""].append(Row(delivery_id, chat_id, wecom_chat_id or ""))
    return dict(by_owner)


async def _give_up(
    session: AsyncSession, push_id: int, rows: list[Row], *, now: datetime,
    policy: GroupTaskPolicy,
) -> None:
    hours = round(policy.cutoff.total_seconds() / 3600)
    await fail_rows(session, rows, now=now, code=NOT_CREATED,
                    message=f"群发任务 {hours} 小时内未能创建（企业微信接口一直不可用）")
    await session.execute(
        update(GroupTask)
        .where(GroupTask.push_id == push_id, GroupTask.status == CREATING)
        .values(status=FAILED, error_code=NOT_CREATED, settled_at=now)
    )


async def _insert_tasks(
    session: AsyncSession, push_id: int, owners: Sequence[str], *, now: datetime,
    remind_at: datetime,
) -> set[int]:
    """One task row per owner (``creating``); the ids of those this call wrote."""
    if not owners:
        return set()
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    values = [
        {"push_id": push_id, "owner_userid": owner, "status": CREATING, "created_at": now,
         "remind_at": remind_at}
        for owner in owners
    ]
    statement = (
        dialect.insert(GroupTask)
        .values(values)
        .on_conflict_do_nothing(index_elements=["push_id", "owner_userid"])
        .returning(GroupTask.id)
    )
    return set(await session.scalars(statement))


async def _reclaim(db: SessionFactory, task: GroupTask, *, now: datetime, lease: timedelta) -> bool:
    """Take over a ``creating`` task left by another run, once its lease ran out."""
    if task.created_at > now - lease:
        return False  # another run is creating it now
    async with transaction(db) as session:
        result = await session.execute(
            update(GroupTask)
            .where(
                GroupTask.id == task.id,
                GroupTask.status == CREATING,
                GroupTask.created_at == task.created_at,
            )
            .values(created_at=now)
        )
    return bool(getattr(result, "rowcount", 0))


@dataclass
class _Job:
    """Creating (or finding) one owner's task."""

    db: SessionFactory
    client: GroupMsgClient
    task: GroupTask
    texts: dict[str, Any]
    window_start: datetime
    now: datetime

    async def run(self, rows: list[Row], tally: Created, *, look_up_first: bool) -> None:
        link = group_link(str(self.texts.get("link", "")), [r.chat_id for r in rows])
        text = plain_group_text(self.texts, link)
        try:
            found = await self._look_up(text) if look_up_first else None
        except _LookupFailed:
            _count(tally, "lookup_failed")
            return
        if found is not None:
            await started(self.db, self.task, found, [], rows, now=self.now)
            tally.adopted += 1
            return
        if not rows:  # nothing left to send (the push was stopped)
            await finish_task(self.db, self.task, status=SETTLED, now=self.now)
            return
        message = GroupMessage(text=text)
        try:
            msgid, refused_chats = await self.client.create_task(
                sender=self.task.owner_userid, chat_ids=[r.wecom_chat_id for r in rows],
                message=message,
            )
        except UnknownOutcome as exc:
            await self._unknown(rows, tally, exc, text)
            return
        except TransientError as exc:  # not accepted: a later run tries again
            await note(self.db, self.task, exc.code)
            _count(tally, exc.code)
            return
        except PermanentError as exc:
            await task_refused(self.db, self.task, rows, exc, now=self.now)
            tally.failed += 1
            _count(tally, exc.code)
            return
        await started(self.db, self.task, msgid, refused_chats, rows, now=self.now)
        tally.created += 1
        tally.refused_chats += len(refused_chats)

    async def _unknown(
        self, rows: list[Row], tally: Created, exc: UnknownOutcome, text: str
    ) -> None:
        """The call's outcome is unknown: find the task, else leave it to a later run."""
        try:
            msgid = await self._look_up(text)
        except _LookupFailed:
            msgid = None
        if msgid is None:
            await note(self.db, self.task, exc.code or "unknown_outcome")
            _count(tally, "unknown_outcome")
            return
        await started(self.db, self.task, msgid, [], rows, now=self.now)
        tally.adopted += 1

    async def _look_up(self, text: str) -> str | None:
        """The msgid of the task WeCom holds for this owner and this item, if any.

        Tasks created through the API are listed without their creator, so a task is
        known by its text (``text``, what this task sends: the item's short link, with
        the group when it goes to one), its owner and its time: of the listed tasks with
        this text not yet held by another task of the push and created for this task's
        owner (``get_groupmsg_task``: two owners' tasks to several groups each carry
        the same text), the one created nearest this task's last attempt; none when
        two are equally near.
        """
        try:
            listed = await self.client.list_tasks(
                start=self.window_start - timedelta(minutes=5), end=self.now + timedelta(minutes=5)
            )
        except (TransientError, PermanentError) as exc:
            log.warning("group tasks not listed", extra={"task": self.task.id, "code": exc.code})
            raise _LookupFailed from exc
        taken = await _taken(self.db, self.task)
        at = self.task.created_at.timestamp()
        near = sorted(
            (abs(_created(entry) - at), str(entry.get("msgid")))
            for entry in listed
            if entry.get("msgid") and _text_of(entry).strip() == text.strip()
            and str(entry.get("msgid")) not in taken
        )
        try:
            mine = [(gap, msgid) for gap, msgid in near if await self._owned(msgid)]
        except (TransientError, PermanentError) as exc:
            log.warning("group task not read", extra={"task": self.task.id, "code": exc.code})
            raise _LookupFailed from exc
        if not mine or (len(mine) > 1 and mine[0][0] == mine[1][0]):
            return None
        return mine[0][1]

    async def _owned(self, msgid: str) -> bool:
        return self.task.owner_userid in await self.client.owners(msgid)


async def _taken(db: SessionFactory, task: GroupTask) -> set[str]:
    async with db() as session:
        held = await session.scalars(
            select(GroupTask.msgid).where(
                GroupTask.push_id == task.push_id,
                GroupTask.id != task.id,
                GroupTask.msgid.is_not(None),
            )
        )
    return {str(m) for m in held}


def _created(entry: dict[str, Any]) -> float:
    try:
        return float(entry.get("create_time") or 0)
    except (TypeError, ValueError):
        return 0.0


class _LookupFailed(Exception):
    """``list_tasks`` failed: nothing is created until a later run can look."""


def _text_of(entry: dict[str, Any]) -> str:
    text = entry.get("text")
    if isinstance(text, dict):
        return str(text.get("content", ""))
    return str(text or entry.get("content", ""))


def _count(tally: Created, code: str) -> None:
    tally.codes[code] = tally.codes.get(code, 0) + 1
