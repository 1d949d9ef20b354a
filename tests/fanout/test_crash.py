"""Exactly once at the providers: duplicate jobs, two workers, a worker killed mid-send.

Counted where it matters: the emulators' inboxes (what residents' phones got).
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from channels.base import ChannelKind
from pusher.models import Delivery, DeliveryStatus
from pusher.pipeline.dispatch import dispatch
from pusher.runtime import jobs
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


def _assert_once(rig: Rig, rows: list[Delivery]) -> None:
    """Each accepted delivery reached its recipient exactly once, and nothing else arrived."""
    for kind, inbox in ((ChannelKind.WECHAT, rig.wechat_inbox), (ChannelKind.SMS, rig.sms_inbox)):
        sent = [d.recipient for d in rows if d.channel == kind.value and d.status in ACCEPTED]
        assert sent, f"nothing accepted over {kind}"
        assert inbox.counts() == Counter(sent), f"{kind}: inbox differs from the record"
        assert max(inbox.counts().values()) == 1


async def test_the_same_dispatch_job_twice_sends_each_message_once(
    sqlite_settings: Settings,
) -> None:
    async with running(sqlite_settings) as rig:
        push_id = await urgent_push(rig)
        for _ in range(2):  # twice at once, then twice again: a redelivered job
            results = await asyncio.gather(
                *(
                    jobs.dispatch(rig.ctx, push_id, kind.value)
                    for kind in (ChannelKind.WECHAT, ChannelKind.SMS)
                    for _ in range(2)
                )
            )
            assert all(r["failed"] == 0 for r in results)
        await rig.drain()
        rows = await rig.deliveries(push_id)
    _assert_once(rig, rows)
    residents = [d for d in rows if d.resident_id is not None]
    assert not [d for d in residents if d.status in ("queued", "sending")]


@pytest.mark.production
async def test_two_workers_on_one_push_send_each_message_once(
    production_settings: Settings,
) -> None:
    async with running(production_settings, residents=400) as rig:
        push_id = await urgent_push(rig)
        workers = [rig.dispatcher("worker-a"), rig.dispatcher("worker-b")]
        tallies = await asyncio.gather(
            *(
                dispatch(w, push_id, kind)
                for kind in (ChannelKind.WECHAT, ChannelKind.SMS)
                for w in workers
            )
        )
        await rig.drain()
        rows = await rig.deliveries(push_id)
    _assert_once(rig, rows)
    assert sum(t.sent for t in tallies) == sum(1 for d in rows if d.status in ACCEPTED)


@pytest.mark.parametrize("kind", [ChannelKind.SMS, ChannelKind.WECHAT])
async def test_worker_killed_after_the_provider_call_is_not_sent_again(
    sqlite_settings: Settings, kind: ChannelKind
) -> None:
    async with running(sqlite_settings, residents=150) as rig:
        push_id = await urgent_push(rig)
        dying = DiesAfterSend(rig.resources.channels[kind])
        doomed = rig.dispatcher("doomed", channels=channels_with(rig, kind, dying))
        with pytest.raises(WorkerDied):
            await dispatch(doomed, push_id, kind)
        rows = await rig.deliveries(push_id)
        stuck = [d for d in rows if d.status == DeliveryStatus.SENDING]
        assert stuck and all(d.claimed_by == "doomed" for d in stuck)
        inbox = rig.sms_inbox if kind is ChannelKind.SMS else rig.wechat_inbox
        assert inbox.total() == len(stuck)  # the provider did take them
        await rig.expire_leases()
        tally = await dispatch(rig.dispatcher("successor"), push_id, kind)
        await rig.drain()
        rows = await rig.deliveries(push_id)
    mine = [d for d in rows if d.channel == kind.value]
    assert all(d.status in ACCEPTED for d in mine)
    assert inbox.counts() == Counter(d.recipient for d in mine)
    assert max(inbox.counts().values()) == 1
    assert tally.failed == 0
    if kind is ChannelKind.SMS:  # found by QuerySendDetails, not sent again
        assert tally.already_accepted == len(stuck)
