"""Reports heard on another worker's link settle a message of unknown outcome (issue 18).

Found by ``pusher bench chaos --sms cmpp``: the gateway sends a report over any of
the SP's links (the emulator: the first one up), so after a link dropped mid-window
the report of a SUBMIT the gateway took went to the *other* worker, whose tracker
did not know its Msg_Id; the sender waited for it in vain and sent the message
again, and a worker taking over a dead worker's rows had nothing to ask at all.
Here two or three channels share one gateway and one orphan store, as workers
share Redis.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from channels.base import Accepted, CallbackBatch, Message, Rejected, UnknownOutcome
from channels.cmpp.channel import CmppChannel, CmppSettings
from channels.cmpp.orphans import MemoryOrphans, Orphans, RedisOrphans
from channels.emulators.cmpp import CmppGateway
from channels.emulators.cmpp_faults import GatewayFaults

SP, SECRET = "901234", "gw-secret"
MESSAGE = Message("k-orphan", "13900000042", "山洪预警，请立即转移")


async def until(check: Callable[[], bool], seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


@asynccontextmanager
async def workers(
    n: int, orphans: Orphans, *, slow_ack: float = 0.3, report_delay: float = 0.01
) -> AsyncIterator[tuple[CmppGateway, list[CmppChannel], list[CallbackBatch]]]:
    """``n`` channels logged in one after the other (the first gets the reports)."""
    faults = GatewayFaults(slow_ack_seconds=slow_ack)
    gateway = CmppGateway(sp_id=SP, secret=SECRET, faults=faults, report_delay=report_delay)
    host, port = await gateway.start()
    heard: list[CallbackBatch] = []

    async def sink(batch: CallbackBatch) -> None:
        heard.append(batch)

    config = CmppSettings(
        host=host,
        port=port,
        sp_id=SP,
        shared_secret=SecretStr(SECRET),
        src_id="10690001",
        response_timeout_seconds=5,
        reconnect_min_seconds=0.05,
        reconnect_max_seconds=0.2,
        settle_seconds=600,
    )
    async with AsyncExitStack() as stack:
        stack.push_async_callback(gateway.close)
        channels = []
        for i in range(n):
            channel = CmppChannel(config, sink=sink, orphans=orphans)
            await channel.start()
            stack.push_async_callback(channel.close)
            await until(lambda i=i: gateway.stats.logins == i + 1)  # type: ignore[misc]
            channels.append(channel)
        yield gateway, channels, heard


async def _taken_but_unanswered(gateway: CmppGateway, sender: CmppChannel) -> None:
    """``sender``'s link drops on its SUBMIT, which the gateway took; the report goes to
    the first worker."""
    gateway.faults.drop_after_submits = 1
    [outcome] = await sender.send([MESSAGE])
    assert isinstance(outcome, Rejected) and isinstance(outcome.error, UnknownOutcome)
    assert gateway.inbox.counts() == {MESSAGE.recipient: 1}


async def _report_id(heard: list[CallbackBatch]) -> str:
    await until(lambda: any(b.receipts for b in heard))
    [receipt] = [r for b in heard for r in b.receipts]
    assert receipt.key is None  # the first worker could not tell whose it was
    return receipt.provider_id


async def test_the_sender_settles_from_a_report_another_worker_heard() -> None:
    async with workers(2, MemoryOrphans(ttl=600)) as (gateway, (_, sender), heard):
        await _taken_but_unanswered(gateway, sender)
        msg_id = await _report_id(heard)
        [found] = await sender.lookup([MESSAGE])
    assert found == Accepted(MESSAGE.key, msg_id)  # not "wait", not "send again"


async def test_a_worker_taking_over_settles_a_dead_workers_message() -> None:
    async with workers(3, MemoryOrphans(ttl=600)) as (gateway, (_, sender, heir), heard):
        await _taken_but_unanswered(gateway, sender)
        msg_id = await _report_id(heard)
        [found] = await heir.lookup([MESSAGE])  # never tracked it
        [again] = await heir.lookup([MESSAGE])  # a report settles one message only
    assert found == Accepted(MESSAGE.key, msg_id) and again is None


async def test_one_report_leaves_one_orphan() -> None:
    orphans = MemoryOrphans(ttl=600)
    async with workers(2, orphans) as (gateway, (_, sender), heard):
        await _taken_but_unanswered(gateway, sender)
        await _report_id(heard)
    assert await orphans.take(MESSAGE.recipient) is not None
    assert await orphans.take(MESSAGE.recipient) is None


@pytest.mark.production
async def test_redis_orphans_are_shared_oldest_first_and_expire() -> None:
    redis = Redis(host="127.0.0.1", port=6379)
    prefix = f"pusher:test:orphans:{uuid.uuid4().hex}:"
    try:
        one, two = (RedisOrphans(redis, prefix=prefix, ttl=60) for _ in range(2))
        await one.put("13900000001", "11")
        await one.put("13900000001", "12")
        assert await two.take("13900000001") == "11"
        assert await two.take("13900000002") is None
        assert 0 < await redis.ttl(prefix + "13900000001") <= 60
        assert await one.take("13900000001") == "12" and await one.take("13900000001") is None
    finally:
        await redis.delete(prefix + "13900000001")
        await redis.aclose()


async def test_a_worker_taking_over_finds_what_the_gateway_answered_a_dead_worker() -> None:
    # The SUBMIT_RESP came back, but the worker died before it wrote the Msg_Id down
    # (and its report, to the sender, is not due yet).
    store = MemoryOrphans(ttl=600)
    async with workers(2, store, slow_ack=0, report_delay=30) as (gateway, (sender, heir), _):
        [outcome] = await sender.send([MESSAGE])
        [found] = await heir.lookup([MESSAGE])
    assert isinstance(outcome, Accepted) and found == outcome
    assert gateway.inbox.counts() == {MESSAGE.recipient: 1}
