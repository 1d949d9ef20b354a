"""A dispatch job cancelled after WeChat took a batch must not send that batch twice.

Found by ``bench/bench_county.py``: 12 residents got two WeChat messages. WeChat
has no status query; a resend with the same ``client_msg_id`` is answered with
the first msgid, but only for 10 minutes. Rows of unknown outcome (a job
cancelled by arq's timeout or stopped mid-batch, a call that timed out after
WeChat took it) were paced like new messages when the daily quota was spent:
deferred for hours, they went out again long after the de-duplication window.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from channels.base import Channel, ChannelKind, Message, Outcome
from channels.emulators import wechat
from channels.ratelimit import MemoryRateLimiter
from pusher.db import transaction
from pusher.models import Delivery, DeliveryStatus
from pusher.pipeline.dispatch import Dispatcher, dispatch
from pusher.runtime import jobs
from pusher.settings import Settings
from tests.fanout.rig import ACCEPTED, Rig, channels_with, running, urgent_push

#: WeChat remembers a client_msg_id this long (emulator default, as the API doc says).
WINDOW = 600.0


class CancelledAfterSend(Channel):
    """The real WeChat client, on an account with a daily quota of ``quota`` messages;
    with ``cancel`` the job is cancelled (arq's timeout, a stopping worker) right after
    WeChat took the batch, before any outcome is written."""

    receipts = True

    def __init__(self, inner: Channel, *, quota: int, cancel: bool) -> None:
        self.kind = inner.kind  # type: ignore[misc]
        self.provider = inner.provider  # type: ignore[misc]
        self.limits = dataclasses.replace(inner.limits, rate=quota)  # type: ignore[misc]
        self._inner = inner
        self._cancel = cancel
        self.calls = 0

    async def send(self, messages: Sequence[Message]) -> list[Outcome]:
        self.calls += len(messages)
        outcomes = await self._inner.send(messages)
        if self._cancel:
            raise asyncio.CancelledError
        return outcomes

    async def lookup(self, messages: Sequence[Message]) -> list[Outcome | None]:
        return await self._inner.lookup(messages)


def _wechat(
    rig: Rig, account: MemoryRateLimiter, *, worker: str, quota: int, cancel: bool = False
) -> Dispatcher:
    """A dispatcher spending the quota in ``account`` (not shared with other tests)."""
    inner = rig.resources.channels[ChannelKind.WECHAT]
    channel = CancelledAfterSend(inner, quota=quota, cancel=cancel)
    return rig.dispatcher(
        worker, channels=channels_with(rig, ChannelKind.WECHAT, channel), limiter=account
    )


async def _quota_back_later(rig: Rig) -> None:
    """What was deferred comes due, and WeChat's de-dup window has passed."""
    await rig.expire_leases()
    async with transaction(rig.resources.db) as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.status == DeliveryStatus.QUEUED)
            .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    state = rig.wechat[wechat.STATE]
    state.dedup = {k: (msgid, at - WINDOW - 1) for k, (msgid, at) in state.dedup.items()}


async def test_a_batch_cancelled_after_wechat_took_it_is_not_sent_twice(
    either_settings: Settings,
) -> None:
    async with running(either_settings, residents=200) as rig:
        push_id = await urgent_push(rig)
        wx_rows = [d for d in await rig.deliveries(push_id) if d.channel == "wechat"]
        assert len(wx_rows) > 50
        quota = len(wx_rows)  # the first call spends the whole day's quota
        today = MemoryRateLimiter()
        first = _wechat(rig, today, worker="w1", quota=quota, cancel=True)
        with pytest.raises(asyncio.CancelledError):
            await dispatch(first, push_id, ChannelKind.WECHAT)
        taken = rig.wechat_inbox.total()
        assert taken == len(wx_rows)  # WeChat took every message; nothing was written
        await rig.expire_leases()
        # the next worker takes the rows over while the quota is still spent
        await dispatch(_wechat(rig, today, worker="w2", quota=quota), push_id, ChannelKind.WECHAT)
        await _quota_back_later(rig)
        tomorrow = _wechat(rig, MemoryRateLimiter(), worker="w3", quota=quota)
        await dispatch(tomorrow, push_id, ChannelKind.WECHAT)
        await rig.drain()
        rows = [d for d in await rig.deliveries(push_id) if d.channel == "wechat"]
    counts = rig.wechat_inbox.counts()
    assert [r for r, n in counts.items() if n > 1] == []
    assert counts == Counter(d.recipient for d in rows)
    assert all(d.status in ACCEPTED for d in rows), Counter(d.status for d in rows)


async def test_a_job_timeout_mid_batch_still_records_the_batch(
    either_settings: Settings,
) -> None:
    """arq cancels a job at ``job_timeout``: the batch in flight is finished and written."""
    async with running(either_settings, residents=120) as rig:
        push_id = await urgent_push(rig)
        rig.wechat[wechat.STATE].faults.slow_seconds = 0.3  # every answer is slow
        d = _wechat(rig, MemoryRateLimiter(), worker="w1", quota=100_000)
        job = asyncio.ensure_future(dispatch(d, push_id, ChannelKind.WECHAT))
        for _ in range(1000):  # until a batch is claimed (at once when the machine is idle)
            if any(r.status == DeliveryStatus.SENDING.value for r in await rig.deliveries(push_id)):
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # its call is in flight: every answer takes 0.3 s
        job.cancel()  # what arq does at job_timeout (asyncio.wait_for)
        with pytest.raises(asyncio.CancelledError):
            await job
        rows = [r for r in await rig.deliveries(push_id) if r.channel == "wechat"]
    assert not [r for r in rows if r.status == DeliveryStatus.SENDING.value]
    accepted = [r for r in rows if r.status in ACCEPTED]
    assert len(accepted) == rig.wechat_inbox.total() > 0


async def test_a_dispatch_job_ends_its_pass_on_time_and_enqueues_the_next(
    either_settings: Settings,
) -> None:
    """A pass stops claiming after ``pass_seconds`` (here at once, after its first batch)
    and the job enqueues its successor, so no job runs into arq's ``job_timeout``."""
    dispatch_settings = either_settings.dispatch.model_copy(update={"pass_seconds": 0.0})
    settings = either_settings.model_copy(update={"dispatch": dispatch_settings})
    async with running(settings, residents=120) as rig:
        push_id = await urgent_push(rig)
        wx_rows = [d for d in await rig.deliveries(push_id) if d.channel == "wechat"]
        inner = rig.resources.channels[ChannelKind.WECHAT]
        small = CancelledAfterSend(inner, quota=10**5, cancel=False)
        small.limits = dataclasses.replace(small.limits, batch_size=10)  # type: ignore[misc]
        rig.resources.channels[ChannelKind.WECHAT] = small  # type: ignore[index]
        passes = 0
        while True:
            queue = rig.resources.queue
            before = len(queue.jobs)  # type: ignore[attr-defined]
            result = await jobs.dispatch(rig.ctx, push_id, ChannelKind.WECHAT.value)
            passes += 1
            assert result["sent"] <= 10 * settings.dispatch.batches_in_flight
            followers = [j for j in queue.jobs[before:] if j[0] == "dispatch"]  # type: ignore[attr-defined]
            if not followers:
                break
            assert followers == [("dispatch", (push_id, "wechat"), followers[0][2])]
        rows = [d for d in await rig.deliveries(push_id) if d.channel == "wechat"]
    assert passes >= len(wx_rows) // (10 * settings.dispatch.batches_in_flight)
    assert all(d.status in ACCEPTED for d in rows)
    assert rig.wechat_inbox.counts() == Counter(d.recipient for d in rows)
