"""CMPP exactly once when a worker is killed mid-send and Redis loses everything.

Worker A submits a push's SMS over CMPP and "dies" before it records the outcomes
(:class:`DiesAfterSend`), its link gone before the status reports come. The gateway
keeps those reports for the next link, which is the heir's: they reach worker B,
whose tracker never saw their Msg_Ids. B takes A's rows over when their leases run
out and must settle them from the database's record of submits, never send them
again, and apply the reports. Variants: A died before it wrote the Msg_Ids (only the
reports' numbers tell), and Redis flushed between the submits and the reports.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import replace

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from channels.base import ChannelKind
from channels.cmpp.channel import CmppChannel, CmppSettings
from channels.emulators.cmpp import CmppGateway
from pusher.models import DeliveryStatus, PendingReceipt
from pusher.pipeline.cmpp_submits import DatabaseLedger
from pusher.pipeline.dispatch import dispatch
from pusher.runtime.resources import open_resources
from pusher.settings import Settings
from tests.fanout.rig import DiesAfterSend, Rig, WorkerDied, running, urgent_push

pytestmark = pytest.mark.production

SP_ID, SECRET = "901234", "takeover-secret"


class NoMsgIds(DatabaseLedger):
    """A worker killed after the gateway's answers but before it wrote their Msg_Ids."""

    async def taken(self, msg_ids: Mapping[str, Sequence[str]]) -> None:
        return None


def _cmpp(rig: Rig, port: int, settle_seconds: float = 600) -> Settings:
    return rig.resources.settings.model_copy(
        update={
            "sms_provider": "cmpp",
            "cmpp": CmppSettings(
                port=port,
                sp_id=SP_ID,
                shared_secret=SecretStr(SECRET),
                src_id="10690001",
                connect_timeout_seconds=10,  # the first SMS logs in (slow when loaded)
                reconnect_min_seconds=0.05,
                reconnect_max_seconds=0.2,
                settle_seconds=settle_seconds,
            ),
        }
    )


async def _parked(rig: Rig) -> int:
    async with rig.resources.db() as session:
        query = select(func.count()).where(
            PendingReceipt.provider == "cmpp", PendingReceipt.recipient.is_not(None)
        )
        return int(await session.scalar(query) or 0)


async def _until(check: object, seconds: float = 15.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def _takeover(settings: Settings, *, msg_ids_written: bool, flush_redis: bool) -> None:
    gateway = CmppGateway(sp_id=SP_ID, secret=SECRET, report_delay=0.5)
    _, port = await gateway.start()
    try:
        async with running(settings, residents=60) as rig:
            push_id = await urgent_push(rig)
            configured = _cmpp(rig, port)
            async with AsyncExitStack() as a_alive:  # worker A
                a = await a_alive.enter_async_context(open_resources(configured))
                channel = a.channels[ChannelKind.SMS]
                assert isinstance(channel, CmppChannel)
                if not msg_ids_written:
                    channel._ledger = NoMsgIds(a.db)
                dying = DiesAfterSend(channel)
                doomed = replace(
                    a.dispatcher(), worker="A", channels={**a.channels, ChannelKind.SMS: dying}
                )
                with pytest.raises(WorkerDied):
                    await dispatch(doomed, push_id, ChannelKind.SMS)
                taken = len(dying.sent)
            # A's link is gone before any report was sent: they wait for the next link
            assert gateway.inbox.total() == taken > 0 and gateway.stats.reports_sent == 0
            if flush_redis:
                await _flush(settings)
            async with open_resources(configured) as b:  # worker B, the heir
                heirs = b.channels[ChannelKind.SMS]
                assert isinstance(heirs, CmppChannel)
                await heirs.connect()  # as after its first SMS: its link is up
                await _until(lambda: _has(rig, taken))  # A's reports, heard by B
                await rig.expire_leases()
                heir = replace(b.dispatcher(), worker="B")
                tally = await dispatch(heir, push_id, ChannelKind.SMS)
                rows = [d for d in await rig.deliveries(push_id) if d.channel == "sms"]
    finally:
        await gateway.close()
    assert tally.already_accepted == taken
    assert gateway.inbox.counts() == Counter(d.recipient for d in rows)  # each exactly once
    assert all(d.status == DeliveryStatus.DELIVERED for d in rows), Counter(d.status for d in rows)


async def _has(rig: Rig, parked: int) -> bool:
    return await _parked(rig) >= parked


async def _flush(settings: Settings) -> None:
    from redis.asyncio import Redis

    assert settings.redis_url is not None
    client = Redis.from_url(settings.redis_url.get_secret_value())
    try:
        await client.flushdb()
    finally:
        await client.aclose()


@pytest.mark.parametrize("msg_ids_written", [True, False], ids=["msg-ids", "killed-before-ids"])
async def test_an_heir_settles_a_killed_workers_sms_from_reports_on_its_own_link(
    production_settings: Settings, msg_ids_written: bool
) -> None:
    await _takeover(production_settings, msg_ids_written=msg_ids_written, flush_redis=False)


async def test_redis_flushed_between_submit_and_report_sends_nothing_twice(
    production_settings: Settings,
) -> None:
    # a Redis database of this test's own, emptied between A's SUBMITs and B's reports
    own = production_settings.model_copy(
        update={
            "redis_url": SecretStr("redis://127.0.0.1:6379/11"),
            "queue_name": f"pusher:test:{uuid.uuid4().hex[:8]}",
        }
    )
    await _takeover(own, msg_ids_written=False, flush_redis=True)
