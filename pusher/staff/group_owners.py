"""Customer-group owners who have not confirmed a mass message: the reminder.

At the task's ``remind_at`` the owner is reminded once through WeCom (``remind``, where
the API has it), and the console users who keep the task's waiting groups get a staff
notice (待办提醒, once per task) asking them to nudge the owner; the groups are then
listed on the follow-up page (:mod:`pusher.console.group_followup`).
"""

from __future__ import annotations

import logging

from channels.base import ChannelError
from channels.wecom_groupmsg import GroupMsgClient
from pusher.audit import record
from pusher.db import SessionFactory, transaction
from pusher.models import GroupTask
from pusher.staff.notify import Outbox, tell
from pusher.staff.waiting import Notice, contacts

log = logging.getLogger(__name__)


def owner_notice(task: GroupTask, title: str, keepers: list[int]) -> Notice:
    """The keepers' notice for one task (subject ``group_task:<id>``, one round)."""
    return Notice(
        subject=f"group_task:{task.id}",
        round=1,
        user_ids=tuple(keepers),
        title="客户群群发待群主确认",
        text=f"信息「{title[:30]}」的客户群群发尚未由群主（{task.owner_userid}）确认，请提醒群主发送",
        path="/followup",
    )


async def remind_owner(
    db: SessionFactory,
    client: GroupMsgClient,
    outbox: Outbox,
    task: GroupTask,
    title: str,
    keepers: list[int],
) -> None:
    """Remind the owner through WeCom and tell the keepers who agreed to notices."""
    via = "wecom"
    try:
        await client.remind(str(task.msgid))
    except NotImplementedError:
        via = "none"
    except ChannelError as exc:
        via = f"error:{exc.code}"
        log.warning("owner not reminded", extra={"task": task.id, "code": exc.code})
    async with transaction(db) as session:
        users = [u for u in await contacts(session) if u.id in set(keepers)]
        record(
            session,
            actor="system",
            action="group_task.remind",
            target=f"group_task:{task.id}",
            detail={"owner": task.owner_userid, "via": via, "keepers": keepers},
        )
    if users:
        await tell(db, outbox, owner_notice(task, title, keepers), users)
