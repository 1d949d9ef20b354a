"""The CMPP channel against the CMPP 2.0 gateway emulator, over real TCP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from pydantic import SecretStr

from channels.base import (
    LOOKUP_FAILED,
    Accepted,
    CallbackBatch,
    FatalError,
    Message,
    Rejected,
    TransientError,
)
from channels.cmpp.channel import CmppChannel, CmppSettings
from channels.cmpp.ledger import MemoryLedger
from channels.cmpp.protocol import Command, ConnectResp, authenticator_ismg, encode
from channels.emulators.cmpp import CmppGateway, GatewayFaults

SP, SECRET, SIGN = "901234", "gw-secret", "青山镇"


@asynccontextmanager
async def rig(
    faults: GatewayFaults | None = None,
    *,
    secret: str = SECRET,
    report_delay: float = 0.01,
    **settings: Any,
) -> AsyncIterator[tuple[CmppGateway, CmppChannel, list[CallbackBatch]]]:
    gateway = CmppGateway(sp_id=SP, secret=SECRET, faults=faults, report_delay=report_delay)
    host, port = await gateway.start()
    batches: list[CallbackBatch] = []

    async def sink(batch: CallbackBatch) -> None:
        batches.append(batch)

    defaults: dict[str, Any] = {
        "response_timeout_seconds": 5,
        "connect_timeout_seconds": 5,
        "reconnect_min_seconds": 0.05,
        "reconnect_max_seconds": 0.2,
    }
    config = CmppSettings(
        host=host,
        port=port,
        sp_id=SP,
        shared_secret=SecretStr(secret),
        src_id="10690001",
        sign_name=SIGN,
        **(defaults | settings),
    )
    channel = CmppChannel(config, sink=sink)
    await channel.start()
    await channel.connect()  # start() alone waits for the first send
    try:
        yield gateway, channel, batches
    finally:
        await channel.close()
        await gateway.close()


def batch(n: int, *, text: str = "低保复核公示", start: int = 0) -> list[Message]:
    return [Message(f"k{i}", f"139{i:08d}", text) for i in range(start, start + n)]


async def until(check: Callable[[], bool], seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


def receipts(batches: list[CallbackBatch]) -> list[Any]:
    return [r for b in batches for r in b.receipts]


async def test_login_and_send_give_each_message_its_own_id() -> None:
    async with rig() as (gateway, channel, _):
        outcomes = await channel.send(batch(5))
    assert gateway.stats.logins == 1
    ids = [o.provider_id for o in outcomes if isinstance(o, Accepted)]
    assert len(set(ids)) == 5
    assert gateway.inbox.messages == {f"139{i:08d}": [f"【{SIGN}】低保复核公示"] for i in range(5)}


async def test_a_wrong_secret_is_refused_and_fatal() -> None:
    async with rig(secret="not-the-secret", connect_timeout_seconds=0.5) as (gateway, channel, _):
        outcomes = await channel.send(batch(2))
    assert gateway.stats.logins == 0 and gateway.stats.refused_logins >= 1
    errors = [o.error for o in outcomes if isinstance(o, Rejected)]
    assert {(type(e), e.code) for e in errors} == {(FatalError, "connect:3")}
    assert gateway.inbox.total() == 0


async def test_a_long_message_goes_in_segments_and_is_reassembled() -> None:
    text = "、".join(f"第{i}村低保户名单已公示" for i in range(15))  # 3 segments with the sign
    async with rig() as (gateway, channel, batches):
        [outcome] = await channel.send([Message("long", "13900000001", text)])
        await until(lambda: len(receipts(batches)) == 1)
    assert isinstance(outcome, Accepted)
    assert gateway.inbox.messages == {"13900000001": [f"【{SIGN}】{text}"]}
    assert [(s.pk_total, s.pk_number, s.udhi) for s in gateway.segments] == [
        (3, 1, 1),
        (3, 2, 1),
        (3, 3, 1),
    ]
    # one receipt for the message, after all three segments' reports
    [receipt] = receipts(batches)
    assert receipt.provider_id == outcome.provider_id and receipt.delivered
    assert gateway.stats.reports_sent == 3


async def test_the_window_is_never_exceeded() -> None:
    async with rig(GatewayFaults(slow_ack_seconds=0.2)) as (gateway, channel, _):
        outcomes = await channel.send(batch(60))
    assert all(isinstance(o, Accepted) for o in outcomes)
    assert gateway.stats.over_window == 0
    assert gateway.stats.max_in_flight == 16  # the window was used, and never more


async def test_keep_alive_sends_active_tests_when_idle() -> None:
    async with rig(active_test_seconds=0.05) as (gateway, channel, _):
        await until(lambda: gateway.stats.active_tests >= 3)
        assert channel.session.logins == 1  # answered: the link stays


async def test_unanswered_active_tests_mean_a_dead_link_and_a_new_one() -> None:
    faults = GatewayFaults(ignore_active_test=True)
    async with rig(
        faults, active_test_seconds=0.05, response_timeout_seconds=0.05, active_test_tries=2
    ) as (gateway, channel, _):
        await until(lambda: gateway.stats.logins >= 2)
        faults.ignore_active_test = False
        outcomes = await channel.send(batch(1))
    assert isinstance(outcomes[0], Accepted)


async def test_a_dropped_link_loses_nothing_and_sends_nothing_twice() -> None:
    # Slow answers keep the window unanswered when the link drops on the 5th SUBMIT:
    # the gateway took 1..5 (never answered); what the client wrote after them is lost;
    # what it had not written yet goes on the next link.
    faults = GatewayFaults(slow_ack_seconds=0.6, drop_after_submits=5)
    async with rig(faults, settle_seconds=2.5) as (gateway, channel, batches):
        messages = batch(20)
        outcomes = await channel.send(messages)
        unknown = [m for m, o in zip(messages, outcomes, strict=True) if isinstance(o, Rejected)]
        later = [o for o in outcomes if isinstance(o, Accepted)]
        assert all(isinstance(o.error, TransientError) for o in outcomes if isinstance(o, Rejected))
        assert 5 <= len(unknown) <= 16 and gateway.stats.dropped == 1
        assert gateway.stats.logins == 2
        assert gateway.inbox.total() == 5 + len(later)  # nothing re-sent blindly
        await until(lambda: len(receipts(batches)) == 5 + len(later))
        found = await channel.lookup(unknown)  # within the settle window
        settled = [o for o in found if isinstance(o, Accepted)]
        waiting = [m for m, o in zip(unknown, found, strict=True) if isinstance(o, Rejected)]
        assert len(settled) == 5 and len(waiting) == len(unknown) - 5
        assert {o.error.code for o in found if isinstance(o, Rejected)} <= {LOOKUP_FAILED}
        await asyncio.sleep(2.5)  # the settle window passes without a report for them
        again = [
            m for m, o in zip(waiting, await channel.lookup(waiting), strict=True) if o is None
        ]
        assert len(again) == len(waiting)
        resent = await channel.send(again)
        assert all(isinstance(o, Accepted) for o in resent)
        await until(lambda: len(receipts(batches)) == 20)
    assert gateway.inbox.counts() == {m.recipient: 1 for m in messages}
    ids = {o.provider_id for o in [*outcomes, *settled, *resent] if isinstance(o, Accepted)}
    assert {r.provider_id for r in receipts(batches)} == ids and len(ids) == 20


async def test_reports_and_replies_reach_the_sink() -> None:
    question = "请问今年的低保复核什么时候开始？需要带哪些材料到村委会？" * 3  # a long reply
    faults = GatewayFaults(report_failure=1.0)
    async with rig(faults) as (gateway, channel, batches):
        outcomes = await channel.send(batch(3))
        await gateway.reply("13900000001", "TD")
        await gateway.reply("13900000002", question)
        await until(lambda: len(receipts(batches)) == 3)
        await until(lambda: any(b.inbound for b in batches) and any(b.opt_outs for b in batches))
    got = receipts(batches)
    assert {r.provider_id for r in got} == {
        o.provider_id for o in outcomes if isinstance(o, Accepted)
    }
    assert {(r.delivered, r.code) for r in got} == {(False, "UNDELIV")}
    assert [o.recipient for b in batches for o in b.opt_outs] == ["13900000001"]
    inbound = [i for b in batches for i in b.inbound]
    assert [(i.sender, i.value) for i in inbound] == [("13900000002", question)]


async def test_garbled_packets_close_the_link_not_the_gateway() -> None:
    gateway = CmppGateway(sp_id=SP, secret=SECRET)
    host, port = await gateway.start()
    try:
        for junk in (b"\xff\xff\xff\xff" + bytes(8), (5).to_bytes(4, "big") + bytes(8)):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(junk)
            assert await reader.read() == b""  # closed by the gateway
            writer.close()
        assert gateway.stats.garbled == 2
        async with rig() as (_, channel, _batches):
            assert isinstance((await channel.send(batch(1)))[0], Accepted)
    finally:
        await gateway.close()


async def test_a_garbled_gateway_is_left_and_dialled_again() -> None:
    logins: list[int] = []

    async def bad_gateway(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        header = await reader.readexactly(12)
        body = await reader.readexactly(int.from_bytes(header[:4], "big") - 12)
        auth = authenticator_ismg(0, body[6:22], SECRET)
        sequence = int.from_bytes(header[8:12], "big")
        writer.write(encode(Command.CONNECT_RESP, sequence, ConnectResp(0, auth, 0x20).pack()))
        logins.append(1)
        writer.write((1 << 20).to_bytes(4, "big") + bytes(8))  # Total_Length of 1 MiB
        await writer.drain()
        await reader.read()
        writer.close()

    server = await asyncio.start_server(bad_gateway, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = CmppSettings(
        host="127.0.0.1",
        port=port,
        sp_id=SP,
        shared_secret=SecretStr(SECRET),
        src_id="1069",
        reconnect_min_seconds=0.02,
        reconnect_max_seconds=0.05,
    )

    async def sink(batch: CallbackBatch) -> None:
        raise AssertionError("nothing to hand over")

    channel = CmppChannel(settings, sink=sink)
    await channel.connect()
    try:
        await until(lambda: len(logins) >= 3)
    finally:
        await channel.close()
        server.close()
        await server.wait_closed()


async def test_the_client_answers_the_gateways_active_test() -> None:
    async with rig() as (gateway, _channel, _):
        await until(lambda: gateway.stats.logins == 1)
        gateway.active_test()
        gateway.active_test()
        await until(lambda: gateway.stats.active_test_answers == 2)


async def test_a_failed_sink_gets_the_same_receipt_again() -> None:
    failures = [1]
    gateway = CmppGateway(sp_id=SP, secret=SECRET, deliver_timeout=0.1)
    host, port = await gateway.start()
    taken: list[CallbackBatch] = []

    async def sink(batch: CallbackBatch) -> None:
        if failures:
            failures.pop()
            raise RuntimeError("database away")
        taken.append(batch)

    settings = CmppSettings(
        host=host, port=port, sp_id=SP, shared_secret=SecretStr(SECRET), src_id="1069"
    )
    channel = CmppChannel(settings, sink=sink)
    await channel.start()
    try:
        [outcome] = await channel.send(batch(1))
        await until(lambda: len(receipts(taken)) == 1)
    finally:
        await channel.close()
        await gateway.close()
    assert isinstance(outcome, Accepted)
    [receipt] = receipts(taken)
    assert receipt.provider_id == outcome.provider_id and receipt.key == "k0"
    assert gateway.stats.delivers_resent == 1


async def test_reports_right_behind_the_answers_still_find_their_message() -> None:
    # no delay between a SUBMIT_RESP and the report: on the wire the report follows at once
    text = "通" * 150  # three segments each
    async with rig(report_delay=0) as (gateway, channel, batches):
        outcomes = await channel.send(batch(150, text=text))
        await until(lambda: gateway.stats.reports_sent == 450)
        await until(lambda: len(receipts(batches)) >= 150)
        await asyncio.sleep(0.1)
    got = receipts(batches)
    assert len(got) == 150 and all(r.key is not None and r.delivered for r in got)
    assert {r.provider_id for r in got} == {
        o.provider_id for o in outcomes if isinstance(o, Accepted)
    }


async def test_with_no_link_a_batch_fails_fast_as_not_sent() -> None:
    gateway = CmppGateway(sp_id=SP, secret=SECRET)
    host, port = await gateway.start()
    await gateway.close()  # nothing listens there any more
    settings = CmppSettings(
        host=host,
        port=port,
        sp_id=SP,
        shared_secret=SecretStr(SECRET),
        src_id="1069",
        connect_timeout_seconds=1,
        reconnect_min_seconds=0.05,
    )

    async def sink(batch: CallbackBatch) -> None:
        raise AssertionError("nothing to hand over")

    channel = CmppChannel(settings, sink=sink)
    await channel.start()
    try:
        started = asyncio.get_running_loop().time()
        outcomes = await channel.send(batch(64))  # four windows' worth
        took = asyncio.get_running_loop().time() - started
    finally:
        await channel.close()
    codes = {(type(o.error), o.error.code) for o in outcomes if isinstance(o, Rejected)}
    assert codes == {(TransientError, "not_connected")} and len(outcomes) == 64
    assert took < 3  # one connect timeout for all, not one per window (4 s)


async def test_a_killed_send_leaves_at_most_one_slice_recorded_but_never_written() -> None:
    # Answers take 0.5 s and the window is 4: the first 4 SUBMITs are written at once,
    # the next 4 are recorded and wait for room; the other 12 are not recorded yet.
    faults = GatewayFaults(slow_ack_seconds=0.5)
    async with rig(faults, window=4) as (gateway, channel, _):
        await channel.session.wait_ready(5)
        ledger = MemoryLedger()
        channel._ledger = ledger
        messages = batch(20)
        sending = asyncio.create_task(channel.send(messages))
        await until(lambda: gateway.stats.submits == 4)
        await asyncio.sleep(0.2)  # the worker is "killed" here, before any answer
        sending.cancel()
        recorded = await ledger.submitted([m.key for m in messages])
        assert gateway.stats.submits == 4
    assert sorted(recorded) == sorted(m.key for m in messages[:8])


async def test_a_process_that_never_sends_holds_no_link() -> None:
    gateway = CmppGateway(sp_id=SP, secret=SECRET)
    host, port = await gateway.start()
    settings = CmppSettings(
        host=host, port=port, sp_id=SP, shared_secret=SecretStr(SECRET), src_id="1069"
    )

    async def sink(batch: CallbackBatch) -> None:
        pass

    channel = CmppChannel(settings, sink=sink)
    try:
        await channel.start()  # what every web and worker process does
        await asyncio.sleep(0.3)
        assert gateway.stats.connections == 0 and not channel.session.connected
        [outcome] = await channel.send(batch(1))  # the first SMS opens the link
        assert isinstance(outcome, Accepted) and gateway.stats.logins == 1
    finally:
        await channel.close()
        await gateway.close()


async def test_a_wrong_secret_is_retried_backing_off_and_logged_once_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="channels.cmpp.session")
    async with rig(secret="wrong", reconnect_min_seconds=0.01, reconnect_max_seconds=0.05) as (
        gateway,
        channel,
        _,
    ):
        await until(lambda: channel.session.refusals >= 6)
        assert "拒绝登录" in (channel.problem or "")
    lines = [r for r in caplog.records if "login refused" in r.getMessage()]
    assert len(lines) == 1 and gateway.stats.refused_logins >= 6
