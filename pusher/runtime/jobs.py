"""Jobs: thin wrappers that call the pipeline steps (arq and the in-process runner).

Every job may run more than once, or in two workers at once: each is idempotent.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from channels.base import ChannelKind
from pusher.db import transaction
from pusher.models import Item, Urgency
from pusher.pipeline.dispatch import dispatch as dispatch_step
from pusher.pipeline.lifecycle import purge
from pusher.pipeline.match import match_item
from pusher.pipeline.plan import plan_push
from pusher.pipeline.receipts import apply_all_parked
from pusher.pipeline.review import pushable
from pusher.pipeline.sweep import due_work, stranded_items
from pusher.pipeline.texts import sms_registry, texts_for
from pusher.runtime.context import Resources
from pusher.runtime.group_jobs import group_tasks
from pusher.sources.poll import poll_sources
from pusher.staff.notify import Outbox, notify_due, nudge
from pusher.staff.relay import escalate_relays, waiting_relays

log = logging.getLogger(__name__)


def _res(ctx: dict[str, Any]) -> Resources:
    resources: Resources = ctx["resources"]
    return resources


async def process_item(ctx: dict[str, Any], item_id: int) -> int | None:
    """Match an approved item to its groups and plan its push; returns the push id."""
    r = _res(ctx)
    async with transaction(r.db) as session:
        item = await session.get_one(Item, item_id)
        if not pushable(item):
            return None
        matcher = await r.rulebook.current(session)
        tokenizer, classifier = r.rulebook.tokenizer, r.rulebook.classifier
        assert classifier is not None  # built by current()
        await match_item(session, item, matcher=matcher, classifier=classifier)
        urgent = item.urgency == Urgency.URGENT
    settings = r.settings
    d = settings.dispatch

    async def on_chunk(push_id: int, number: int) -> None:
        for kind in ChannelKind:
            await r.queue.enqueue(
                "dispatch", push_id, kind.value, job_id=_job(push_id, kind, number)
            )

    push_id = await plan_push(
        r.db,
        item_id,
        chunk=settings.dispatch.plan_chunk,
        span=settings.dispatch.claim_range,
        on_chunk=on_chunk,
        wechat_consent=settings.wechat.mode == "subscribe",
        texts_for=lambda i: texts_for(
            i,
            tokenizer=tokenizer,
            public_url=settings.public_url,
            signature=settings.sms_signature,
            max_segments=d.sms_max_segments_urgent if i.urgency == "urgent" else d.sms_max_segments,
            wechat_fields=d.wechat_template_fields,
            sms_templates=sms_registry(r.channels),
        ),
    )
    if push_id is not None:  # its customer groups' mass messages, at once
        await r.queue.enqueue("group_tasks", push_id, job_id=f"group_tasks:{push_id}")
    if push_id is not None and urgent:  # keepers of relayed groups: the text at once
        await nudge(r.queue)
    return push_id


async def dispatch(ctx: dict[str, Any], push_id: int, kind: str) -> dict[str, Any]:
    """Send what is due for one push over one channel."""
    r = _res(ctx)
    dispatcher = replace(r.dispatcher(), stopping=ctx.get("stopping"))
    tally = await dispatch_step(dispatcher, push_id, ChannelKind(kind))
    if tally.fell_back or tally.fallback_pushes:
        for target in (
            {push_id} | tally.fallback_pushes if tally.fell_back else tally.fallback_pushes
        ):
            job_id = f"dispatch:{target}:sms:fallback:{time.time_ns()}"
            await r.queue.enqueue("dispatch", target, ChannelKind.SMS.value, job_id=job_id)
    if tally.more:  # the pass ended on time, well before arq's job_timeout: go on
        job_id = f"dispatch:{push_id}:{kind}:more:{time.time_ns()}"
        await r.queue.enqueue("dispatch", push_id, kind, job_id=job_id)
    return {
        "sent": tally.sent,
        "retried": tally.retried,
        "failed": tally.failed,
        "fell_back": tally.fell_back,
        "deferred": tally.deferred,
        "codes": tally.codes,
    }


async def sweep(ctx: dict[str, Any]) -> int:
    """Enqueue dispatch for retries that came due and leases that ran out."""
    r = _res(ctx)
    now = r.dispatcher().clock()
    slot = int(time.time() // 15)
    async with transaction(r.db) as session:
        fallback = await apply_all_parked(session)
    work = await due_work(r.db, now) + [(p, ChannelKind.SMS.value) for p in fallback]
    for item_id in await stranded_items(r.db, now):
        await r.queue.enqueue("process_item", item_id, job_id=f"process:{item_id}:sweep:{slot}")
    for push_id, kind in work:
        if kind in ChannelKind._value2member_map_:
            job_id = f"dispatch:{push_id}:{kind}:sweep:{slot}"
            await r.queue.enqueue("dispatch", push_id, kind, job_id=job_id)
    await r.queue.enqueue("notify_staff", job_id=f"notify_staff:sweep:{slot}")
    return len(work)


async def notify_staff(ctx: dict[str, Any]) -> dict[str, Any]:
    """Tell reviewers, leaders and grid workers what waits for them (once per round),
    after escalating the relays to WeChat groups left waiting too long (every sweep:
    the arq cron's in production, the embedded runner's in embedded mode)."""
    r = _res(ctx)
    s = r.settings
    outbox = Outbox(
        channels=r.channels,
        public_url=s.public_url,
        wechat_mode=s.wechat.mode,
        wechat_fields=s.dispatch.wechat_template_fields,
        org=s.sms_signature.strip("【】"),
    )
    now = datetime.now(UTC)
    relays = await waiting_relays(r.db, now=now)  # read once: escalation and notices
    escalated = await escalate_relays(
        r.db,
        now=now,
        urgent_after=timedelta(minutes=s.relay_urgent_minutes),
        day_end=s.relay_day_end_hour,
        rows=relays,
    )
    told = await notify_due(r.db, outbox, now=now, relays=relays)
    return {"sent": told.sent, "failed": told.failed, "escalated": escalated}


def _job(push_id: int, kind: ChannelKind, number: int) -> str:
    return f"dispatch:{push_id}:{kind.value}:chunk:{number}"


async def purge_old(ctx: dict[str, Any]) -> dict[str, Any]:
    """Delete rows past their retention (daily: arq cron, or the embedded sweeper):
    deliveries, sandbox messages, expired parked receipts, old short-link counts."""
    r = _res(ctx)
    s = r.settings
    report = await purge(
        r.db,
        now=datetime.now(UTC),
        delivery_days=s.delivery_retention_days,
        sandbox_days=s.sandbox_retention_days,
        parked_receipt_hours=s.parked_receipt_hours,
        link_open_days=s.link_open_retention_days,
    )
    return asdict(report)


FUNCTIONS = [process_item, dispatch, sweep, purge_old, poll_sources, notify_staff, group_tasks]
