"""Dispatch: claim due deliveries of one push and channel, send them, record outcomes.

Safe to run any number of times, in any number of workers at once: rows are
claimed before sending (see :mod:`pusher.pipeline.claims`), and a row whose
outcome is unknown after a crash is checked with the provider before it is
sent again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, update

from channels.base import (
    Accepted,
    Channel,
    ChannelError,
    ChannelKind,
    LookupFailed,
    Message,
    Outcome,
    PermanentError,
    Rejected,
    TransientError,
    not_asked,
)
from channels.ratelimit import RateLimiter
from pusher.db import SessionFactory, single_writer, transaction
from pusher.models import (
    PERSON_CHANNELS,
    Delivery,
    DeliveryRange,
    DeliveryStatus,
    Item,
    NumberSend,
    Push,
    Urgency,
)
from pusher.ops.metrics import Metrics
from pusher.pipeline import consents
from pusher.pipeline.claims import Claimed, claim, hold_until, leases_kept
from pusher.pipeline.outcomes import PACED, RetryPolicy, Tally, record
from pusher.pipeline.proxies import marked, proxy_names
from pusher.pipeline.receipts import apply_all_parked, apply_parked
from pusher.pipeline.shared_numbers import Sharing, named, settle_covered, share_numbers
from pusher.settings import DispatchSettings, QuietHours
from pusher.summary import NO_TEMPLATE

log = logging.getLogger(__name__)
MAX_PACE_WAIT = 30.0  # seconds a dispatch job may sleep for the provider's rate
D = Delivery.__table__.c


@dataclass(frozen=True)
class Dispatcher:
    """Everything a dispatch pass needs, passed in."""

    db: SessionFactory
    channels: Mapping[ChannelKind, Channel]
    limiter: RateLimiter
    metrics: Metrics
    settings: DispatchSettings
    quiet: QuietHours
    worker: str
    clock: Callable[[], datetime]
    #: When set (the worker is stopping), dispatch ends after the batch in hand.
    stopping: asyncio.Event | None = None

    @property
    def policy(self) -> RetryPolicy:
        return RetryPolicy(self.settings.retry_delays, self.settings.retry_jitter)


def quiet_until(now: datetime, quiet: QuietHours) -> datetime | None:
    """The end of the quiet hours ``now`` falls in, or None outside them."""
    local = now.astimezone(ZoneInfo(quiet.timezone))
    start, end = quiet.start, quiet.end
    inside = (start <= local.hour or local.hour < end) if start > end else start <= local.hour < end
    if not inside or start == end:
        return None
    morning = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if morning <= local:
        morning += timedelta(days=1)
    return morning


async def dispatch(d: Dispatcher, push_id: int, kind: ChannelKind) -> Tally:
    """Send every due delivery of ``push_id`` over ``kind``; returns what happened."""
    channel = d.channels[kind]
    tally = Tally()
    async with d.db() as session:
        push = await session.get_one(Push, push_id)
        item = await session.get_one(Item, push.item_id)
    urgent = item.urgency == Urgency.URGENT
    if not urgent and await _defer_for_quiet_hours(d, push_id, kind):
        return tally
    content = push.texts.get(kind.value, {})
    await _send_all(d, channel, (push_id, kind), content, tally, urgent=urgent)
    if not urgent:  # a push still going out when the quiet hours began: the rest waits
        await _defer_for_quiet_hours(d, push_id, kind)
    async with transaction(d.db) as session:  # receipts that raced our status writes
        tally.fallback_pushes |= await apply_all_parked(session)
    await _close_if_done(d, push_id)
    log.info(
        "dispatched",
        extra={
            "push_id": push_id,
            "channel": kind.value,
            "sent": tally.sent,
            "retried": tally.retried,
            "failed": tally.failed,
            "deferred": tally.deferred,
        },
    )
    return tally


async def _send_all(
    d: Dispatcher,
    channel: Channel,
    target: tuple[int, ChannelKind],
    content: Mapping[str, Any],
    tally: Tally,
    *,
    urgent: bool,
) -> None:
    """Claim and send batches until none is due, ``batches_in_flight`` at a time,
    or, for a normal item, until the quiet hours begin, or until ``pass_seconds``
    are over (``tally.more``: the caller enqueues the next pass).

    The next batch is claimed and sent while earlier ones are still in flight or
    being recorded, so the database and the provider work at the same time.
    Batches in flight are always finished, never cancelled: a cancelled send
    would leave rows of unknown outcome.
    """
    flying: set[asyncio.Task[Tally]] = set()
    # SQLite's one writer: take turns here rather than in its busy handler, which sleeps
    writes: AbstractAsyncContextManager[Any] = (
        asyncio.Lock() if single_writer(d.db) else nullcontext()
    )
    ends, batches = time.monotonic() + d.settings.pass_seconds, 0
    try:
        while not tally.fatal and (d.stopping is None or not d.stopping.is_set()):
            if not urgent and quiet_until(d.clock(), d.quiet) is not None:
                break
            if batches and time.monotonic() >= ends:
                tally.more = True  # end the pass long before arq's job_timeout
                break
            async with writes:
                batch = await _claim(d, channel, target)
            if not batch:
                break
            task = _send_batch(d, channel, (target[0], batch), content, writes)
            flying.add(asyncio.create_task(task))
            batches += 1
            if len(flying) >= d.settings.batches_in_flight:
                done, flying = await asyncio.wait(flying, return_when=asyncio.FIRST_COMPLETED)
                _collect(done, tally, channel, target[0])
    finally:
        if flying:
            cancelled = await _land(flying)
            _collect(flying, tally, channel, target[0])
            if cancelled:
                raise asyncio.CancelledError


async def _land(flying: set[asyncio.Task[Tally]]) -> bool:
    """Wait until the batches in flight are sent and recorded, even when the job is
    cancelled meanwhile (arq's ``job_timeout``): a batch abandoned half-way leaves rows
    of unknown outcome and keeps running on its own. True if the job was cancelled."""
    cancelled = False
    pending = set(flying)
    while pending:
        try:
            await asyncio.shield(asyncio.wait(pending))
        except asyncio.CancelledError:
            cancelled = True
        pending = {task for task in pending if not task.done()}
    return cancelled


async def _claim(d: Dispatcher, channel: Channel, target: tuple[int, ChannelKind]) -> list[Claimed]:
    push_id, kind = target
    async with transaction(d.db) as session:
        return await claim(
            session,
            push_id=push_id,
            channel=kind.value,
            worker=d.worker,
            limit=channel.limits.batch_size,
            lease=timedelta(seconds=d.settings.lease_seconds),
            now=d.clock(),
        )


def _collect(done: set[asyncio.Task[Tally]], tally: Tally, channel: Channel, push_id: int) -> None:
    """Add finished batches to ``tally``; re-raise the first failure once all are in."""
    failures = [t.exception() for t in done if t.exception() is not None]
    for task in done:
        if task.exception() is None:
            fatal_before = tally.fatal
            tally.add(task.result())
            if tally.fatal and not fatal_before:
                log.error(
                    "channel misconfigured: sending stopped, messages held",
                    extra={"provider": channel.provider, "code": tally.fatal, "push_id": push_id},
                )
    if failures:
        raise failures[0]


async def _send_batch(
    d: Dispatcher,
    channel: Channel,
    claimed: tuple[int, Sequence[Claimed]],
    content: Mapping[str, Any],
    writes: AbstractAsyncContextManager[Any],
) -> Tally:
    push_id, batch = claimed
    lease = timedelta(seconds=d.settings.lease_seconds)
    ids = [c.id for c in batch]
    keep = leases_kept(d.db, ids, worker=d.worker, lease=lease, clock=d.clock, writes=writes)
    turns = writes if channel.writes_database else nullcontext()
    sharing = Sharing(list(batch))
    if channel.kind is ChannelKind.SMS:  # a number several residents share: one SMS
        async with writes, transaction(d.db) as session:
            sharing = await share_numbers(session, push_id, batch)
        batch = sharing.send
    started = d.clock()
    async with keep:
        outcomes, paced_until, found_sent = await _ask_and_send(
            d, channel, batch, content, turns, names=sharing.names
        )
    done = [o for o in outcomes if o is not None]
    for outcome in done:
        if isinstance(outcome, Rejected):
            d.metrics.count_error(channel.provider, outcome.error.code)
    async with writes, transaction(d.db) as session:
        tally = await record(
            session,
            batch,
            done,
            kind=channel.kind,
            provider=channel.provider,
            worker=d.worker,
            policy=d.policy,
            now=d.clock(),
            final_on_accept=not channel.receipts,
            paced_until=paced_until,
        )
        accepted = [o.provider_id for o in done if isinstance(o, Accepted)]
        tally.fallback_pushes |= await apply_parked(session, channel.provider, accepted)
        await settle_covered(session, push_id, sharing.covered, worker=d.worker, now=d.clock())
        if channel.spends_consent:
            await consents.spend(session, consents.spent(batch, outcomes), given_before=started)
    tally.already_accepted = found_sent
    return tally


async def _ask_and_send(
    d: Dispatcher,
    channel: Channel,
    batch: Sequence[Claimed],
    content: Mapping[str, Any],
    turns: AbstractAsyncContextManager[Any],
    *,
    names: Mapping[int, str],
) -> tuple[list[Outcome | None], datetime | None, int]:
    """Ask the provider about rows of unknown outcome, send the rest (paced); the
    outcomes, when to try paced rows again, and how many the provider already had.
    Calls to the channel happen inside ``turns``. ``names``: for a row sent to a
    shared number, everyone it is for."""
    proxied: dict[int, str] = {}
    if channel.kind is ChannelKind.WECHAT:  # 代收: say whose message it is
        proxied = await proxy_names(d.db, [c.resident_id for c in batch if c.resident_id])
    width = channel.limits.max_chars or 20
    common = _parts(content)  # one text for most rows: its parts made once a batch
    messages = [
        _message(c, _parts(marked(content, proxied[c.resident_id], max_chars=width)))
        if c.resident_id in proxied
        else _message(c, _parts(named(content, names[c.id])) if c.id in names else common)
        for c in batch
    ]
    refused = no_template(channel, content)
    if refused is not None:  # a template-only account: never sent as free text
        return [Rejected(m.key, refused) for m in messages], None, 0
    outcomes: list[Outcome | None] = [None] * len(batch)
    unknown = [i for i, c in enumerate(batch) if c.unknown_outcome]
    if unknown:
        try:
            async with turns:
                with d.metrics.time_call(channel.provider):
                    found = await channel.lookup([messages[i] for i in unknown])
        except ChannelError as exc:
            # cannot tell whether they went out: they stay unknown and are asked again later
            log.warning("lookup failed", extra={"provider": channel.provider, "code": exc.code})
            found = [not_asked(messages[i].key, exc) for i in unknown]
        for i, outcome in zip(unknown, found, strict=True):
            outcomes[i] = outcome
    # Rows of unknown outcome the provider has no record of go again now, under the same
    # key, never paced: they paid their share of the quota with their first call, and
    # WeChat answers a repeated client_msg_id with the first msgid only for 10 minutes, so
    # a resend deferred until the quota comes back would reach the resident twice.
    again = [i for i in unknown if outcomes[i] is None]
    fresh = [i for i, o in enumerate(outcomes) if o is None and i not in set(unknown)]
    paced_until = await _pace(d, channel, len(fresh)) if fresh else None
    if paced_until is not None:
        for i in fresh:  # the account's quota is spent for now: wait without a try
            outcomes[i] = Rejected(messages[i].key, TransientError(PACED, "provider rate"))
        fresh = []
    to_send = sorted(again + fresh)
    if to_send:
        async with turns:
            with d.metrics.time_call(channel.provider):
                sent = await channel.send([messages[i] for i in to_send])
        for i, outcome in zip(to_send, sent, strict=True):
            outcomes[i] = outcome
    # the provider had it: found accepted or refused (a look-up that failed or was told to
    # wait does not count, nor does a row sent again)
    asked_again = set(again)
    had = sum(
        not (isinstance(o, Rejected) and isinstance(o.error, LookupFailed))
        for i in unknown
        if i not in asked_again and (o := outcomes[i]) is not None
    )
    return outcomes, paced_until, had


async def _pace(d: Dispatcher, channel: Channel, count: int) -> datetime | None:
    """Wait for the provider account's rate (shared by every worker through Redis).

    A short wait is waited out; a long one (a daily quota spent) is not slept
    through inside the job holding claims: returns when to try again instead.
    """
    limits = channel.limits
    if channel.provider == "sandbox" or limits.rate_scope != "account":
        return None
    bucket = f"{channel.provider}:account"
    calls = count if limits.rate_unit == "message" else -(-count // limits.per_call)
    cost = min(calls, limits.rate)
    wait = await d.limiter.try_acquire(
        bucket, rate=limits.rate, per_seconds=limits.per_seconds, cost=cost
    )
    if wait > MAX_PACE_WAIT:
        return d.clock() + timedelta(seconds=wait)
    if wait > 0:
        wait = await d.limiter.acquire(
            bucket, rate=limits.rate, per_seconds=limits.per_seconds, cost=cost
        )
    d.metrics.observe_rate_wait(channel.provider, wait)
    return None


def no_template(channel: Channel, content: Mapping[str, Any]) -> PermanentError | None:
    """Why an SMS account that takes only approved templates cannot send ``content``
    (no template fits the item, or the push was planned without one), or None."""
    if channel.kind is not ChannelKind.SMS or getattr(channel, "templates", None) is None:
        return None
    if content.get("template"):
        return None
    reason = str(content.get("reason") or "推送未按已审核短信模板生成，商业短信账户不发送自由文本")
    return PermanentError(NO_TEMPLATE, reason)


class Parts(NamedTuple):
    """What a message of some content says, whoever it goes to (``params`` shared, read-only)."""

    text: str
    params: Mapping[str, str]
    url: str | None
    title: str
    template: str


def _parts(content: Mapping[str, Any]) -> Parts:
    return Parts(
        text=str(content.get("text", "")),
        params={str(k): str(v) for k, v in content.get("params", {}).items()},
        url=content.get("url"),
        title=str(content.get("title", "")),
        template=str(content.get("template", "")),
    )


def _message(c: Claimed, parts: Parts) -> Message:
    return Message(
        key=str(c.id),
        recipient=c.recipient,
        text=parts.text,
        params=parts.params,
        url=parts.url,
        title=parts.title,
        template=parts.template,
        sent_at=c.sent_at,
    )


async def _defer_for_quiet_hours(d: Dispatcher, push_id: int, kind: ChannelKind) -> bool:
    """Move due deliveries to the morning during quiet hours; True if deferred."""
    morning = quiet_until(d.clock(), d.quiet)
    if morning is None:
        return False
    async with transaction(d.db) as session:
        held = await hold_until(session, push_id, kind.value, morning)
    if held:  # a later pass over the same push finds nothing new to hold: no line
        log.info(
            "deferred for quiet hours",
            extra={
                "push_id": push_id,
                "channel": kind.value,
                "rows": held,
                "until": morning.isoformat(),
            },
        )
    return True


async def _close_if_done(d: Dispatcher, push_id: int) -> None:
    async with transaction(d.db) as session:
        open_rows = await session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(
                D.push_id == push_id,
                D.status.in_([DeliveryStatus.QUEUED.value, DeliveryStatus.SENDING.value]),
                D.channel.not_in(PERSON_CHANNELS),  # group rows waiting for a person settle alone
            )
        )
        if not open_rows:
            closed = await session.execute(
                update(Push)
                .where(Push.id == push_id, Push.status == "dispatching")
                .values(status="done")
            )
            if getattr(closed, "rowcount", 0):  # every row settled: its ranges are spent
                await session.execute(delete(DeliveryRange).where(DeliveryRange.push_id == push_id))
                await session.execute(delete(NumberSend).where(NumberSend.push_id == push_id))
