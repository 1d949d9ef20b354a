"""The customer-group job: create the WeCom mass-message tasks of new pushes, read the
results of waiting ones, remind owners and settle tasks (arq cron each minute, the
embedded runner likewise, and at once after a push is planned)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from channels.wechat_token import build_token_store
from channels.wecom_groupmsg import GroupMsgClient
from pusher.models import GroupTask
from pusher.pipeline.group_results import poll_tasks, pushes_to_start
from pusher.pipeline.group_tasks import GroupTaskPolicy, create_tasks
from pusher.runtime.context import Resources
from pusher.settings import Settings
from pusher.staff.group_owners import remind_owner
from pusher.staff.notify import Outbox


def policy_of(settings: Settings) -> GroupTaskPolicy:
    """The reminder times and the cutoff from the settings."""
    return GroupTaskPolicy(
        remind_after=timedelta(minutes=settings.group_owner_remind_minutes),
        remind_after_urgent=timedelta(minutes=settings.group_owner_remind_minutes_urgent),
        cutoff=timedelta(hours=settings.group_owner_cutoff_hours),
        lease=timedelta(seconds=settings.group_task_lease_seconds),
    )


def client_of(r: Resources) -> GroupMsgClient | None:
    """The WeCom application's client, None when it is not configured (its access token
    shared through Redis by every worker; embedded: fetched once per run)."""
    app = r.settings.wecom_app
    if not app.configured:
        return None
    return GroupMsgClient(app, r.http, tokens=build_token_store(r.redis))


async def run_group_tasks(
    r: Resources, push_id: int | None = None, *, now: datetime | None = None
) -> dict[str, Any]:
    """One push's tasks (``push_id``), or every push's due work."""
    now = now or datetime.now(UTC)
    policy = policy_of(r.settings)
    client = client_of(r)
    # a day past the cutoff: pushes whose tasks could not be made in time are given up
    since = now - policy.cutoff - timedelta(days=1)
    pushes = [push_id] if push_id is not None else await pushes_to_start(r.db, since=since)
    created: dict[str, Any] = {}
    for pid in pushes:
        tally = await create_tasks(r.db, client, pid, now=now, policy=policy)
        created[str(pid)] = asdict(tally)
    if client is None or push_id is not None:
        return {"created": created}
    outbox = Outbox(
        channels=r.channels,
        public_url=r.settings.public_url,
        wechat_mode=r.settings.wechat.mode,
        wechat_fields=r.settings.dispatch.wechat_template_fields,
        org=r.settings.sms_signature.strip("【】"),
    )

    async def remind(task: GroupTask, title: str, keepers: list[int]) -> None:
        assert client is not None
        await remind_owner(r.db, client, outbox, task, title, keepers)

    polled = await poll_tasks(r.db, client, now=now, policy=policy, remind=remind)
    return {"created": created, "polled": asdict(polled)}


async def group_tasks(ctx: dict[str, Any], push_id: int | None = None) -> dict[str, Any]:
    """The job (arq and the in-process runner)."""
    resources: Resources = ctx["resources"]
    return await run_group_tasks(resources, push_id)
