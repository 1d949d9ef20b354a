"""Messages whose fate is unknown (timeouts, failed look-ups) must still go out exactly once.

Both cases were found by ``bench/bench_chaos.py``: a failed look-up leaves the
rows unknown (asked again later), and a timed-out call is looked up before any resend.
"""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from channels.base import (
    ChannelError,
    ChannelKind,
    Message,
    Outcome,
    Rejected,
    UnknownOutcome,
)
from channels.emulators import aliyun_sms
from pusher.db import transaction
from pusher.models import Delivery, DeliveryStatus
from pusher.pipeline.dispatch import dispatch
from pusher.pipeline.outcomes import Tally
from pusher.settings import Settings
from tests.fanout.rig import (
    ACCEPTED,
    DiesAfterSend,
    Rig,
    WorkerDied,
    channels_with,
    running,
    urgent_push,
)


async def _make_due(rig: Rig) -> None:
    """Leases run out and retries come due, as if time had passed."""
    await rig.expire_leases()
    past = datetime.now(UTC) - timedelta(seconds=1)
    async with transaction(rig.resources.db) as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.status == DeliveryStatus.QUEUED)
            .values(next_attempt_at=past)
        )


def _sms_once(rig: Rig, rows: list[Delivery]) -> None:
    sms = [d for d in rows if d.channel == "sms"]
    assert all(d.status in ACCEPTED for d in sms), Counter(d.status for d in sms)
    assert rig.sms_inbox.counts() == Counter(d.recipient for d in sms)


async def test_unknown_outcomes_are_settled_although_some_lookups_fail(
    sqlite_settings: Settings,
) -> None:
    async with running(sqlite_settings, residents=150) as rig:
        push_id = await urgent_push(rig)
        dying = DiesAfterSend(rig.resources.channels[ChannelKind.SMS])
        doomed = rig.dispatcher("doomed", channels=channels_with(rig, ChannelKind.SMS, dying))
        with pytest.raises(WorkerDied):
            await dispatch(doomed, push_id, ChannelKind.SMS)
        faults = rig.sms[aliyun_sms.STATE].faults
        faults.server_error, faults.rng = 0.3, random.Random(7)  # the gateway has a bad day
        for n in range(5):
            await _make_due(rig)
            with contextlib.suppress(ChannelError):
                await dispatch(rig.dispatcher(f"successor-{n}"), push_id, ChannelKind.SMS)
        rows = await rig.deliveries(push_id)
    _sms_once(rig, rows)


class AnswerLost(DiesAfterSend):
    """The gateway takes the call, but its answer never arrives: the client times out."""

    async def send(self, messages: Sequence[Message]) -> list[Outcome]:
        await self._inner.send(messages)
        return [Rejected(m.key, UnknownOutcome("timeout", "no answer in time")) for m in messages]


async def _answers_lost(rig: Rig, push_id: int) -> Tally:
    """A first SMS pass whose calls the gateway takes but whose answers never arrive."""
    lost = AnswerLost(rig.resources.channels[ChannelKind.SMS])
    channels = channels_with(rig, ChannelKind.SMS, lost)
    return await dispatch(rig.dispatcher("w1", channels=channels), push_id, ChannelKind.SMS)


async def test_an_sms_call_that_timed_out_but_was_taken_is_not_sent_twice(
    sqlite_settings: Settings,
) -> None:
    async with running(sqlite_settings, residents=150) as rig:
        push_id = await urgent_push(rig)
        first = await _answers_lost(rig, push_id)
        assert first.retried > 0 and first.sent == 0
        assert rig.sms_inbox.total() == first.retried  # the gateway did take them
        await _make_due(rig)
        second = await dispatch(rig.dispatcher("w2"), push_id, ChannelKind.SMS)
        assert second.already_accepted == first.retried
        rows = await rig.deliveries(push_id)
    _sms_once(rig, rows)


async def test_a_tencent_message_whose_report_is_late_is_not_sent_again(
    sqlite_settings: Settings,
) -> None:
    """Tencent lists a message for a look-up only once its carrier report is in: a message
    whose answer was lost and whose report is still on its way is asked about again, not
    sent again, until the report comes and the look-up finds it."""
    async with running(sqlite_settings, residents=150, sms="tencent", report_delay=1.5) as rig:
        push_id = await urgent_push(rig)
        first = await _answers_lost(rig, push_id)
        assert first.retried > 0 and first.sent == 0
        taken = rig.sms_inbox.total()
        assert taken == first.retried  # the gateway did take them; no report yet
        await _make_due(rig)
        early = await dispatch(rig.dispatcher("w2"), push_id, ChannelKind.SMS)
        assert early.sent == 0 and early.already_accepted == 0
        assert rig.sms_inbox.total() == taken  # not listed yet, and not sent again
        await rig.drain()  # the carrier's reports come in
        await _make_due(rig)
        late = await dispatch(rig.dispatcher("w3"), push_id, ChannelKind.SMS)
        assert late.already_accepted == taken
        rows = await rig.deliveries(push_id)
    _sms_once(rig, rows)
