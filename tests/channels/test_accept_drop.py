"""The accept-then-drop fault: every emulator takes the message, then loses the answer.

The provider recorded the message (it is in the inbox, its receipt is on its way)
and the client sees an unknown outcome, whichever way the answer is lost: the
connection closed without a response, or the answer held past the client's
timeout. Then what each provider offers to settle it, as pusher uses it: WeChat's
``client_msg_id`` de-duplication, Aliyun's QuerySendDetails by ``OutId``, CMPP's
status reports.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from channels import tencent_sms
from channels.base import Accepted, LookupFailed, Message, Rejected, UnknownOutcome
from channels.emulators import tencent_sms as tencent_emu
from channels.emulators.cmpp_faults import GatewayFaults
from channels.emulators.common import Faults
from channels.http import HttpSession
from tests.channels.rigs import (
    SECRET,
    TENCENT_ACCOUNT,
    Options,
    Rig,
    Spec,
    messages,
    running,
    templated,
    tencent_settings,
)
from tests.channels.specs import SPECS
from tests.channels.test_cmpp_gateway import batch, receipts, rig, until

#: Every provider with an emulator (the sandbox has none: it writes to our database).
EMULATED = [s for s in SPECS if s.name != "sandbox"]


def _dropping(way: str, share: float = 1.0, **extra: Any) -> Options:
    return Options(faults=Faults(accept_drop=share, accept_drop_way=way, **extra))


def _unknown(outcomes: list[Any]) -> bool:
    return all(isinstance(o, Rejected) and isinstance(o.error, UnknownOutcome) for o in outcomes)


@pytest.mark.parametrize("spec", EMULATED, ids=lambda s: s.name)
async def test_the_message_is_taken_and_the_answer_lost_by_a_closed_link(spec: Spec) -> None:
    async with running(spec, _dropping("close")) as r:
        sent = messages(spec, 1)
        outcomes = await r.channel.send(sent)
        assert _unknown(outcomes), outcomes
        assert {k: len(v) for k, v in r.received().items()} == {sent[0].recipient: 1}


def _shorten_client_timeout(r: Rig, seconds: float) -> None:
    # The rigs' clients wait 10 s; the held answer is tested against a short wait instead.
    http = r.channel._http  # type: ignore[attr-defined]
    assert isinstance(http, HttpSession)
    http._timeout = aiohttp.ClientTimeout(total=seconds)


@pytest.mark.parametrize("spec", [s for s in EMULATED if s.name != "cmpp"], ids=lambda s: s.name)
async def test_the_message_is_taken_and_the_answer_held_past_the_timeout(spec: Spec) -> None:
    async with running(spec, _dropping("hold", timeout_seconds=3.0)) as r:
        _shorten_client_timeout(r, 0.3)
        sent = messages(spec, 1)
        outcomes = await r.channel.send(sent)
        assert _unknown(outcomes), outcomes
        assert outcomes[0].error.code == "timeout"  # type: ignore[union-attr]
        assert len(r.received()[sent[0].recipient]) == 1


async def test_cmpp_takes_the_submit_and_never_answers_it() -> None:
    faults = GatewayFaults(accept_drop=1.0, accept_drop_way="hold")
    async with rig(faults, response_timeout_seconds=0.5) as (gateway, channel, batches):
        outcomes = await channel.send(batch(1))
        assert _unknown(outcomes), outcomes
        assert gateway.inbox.total() == 1 and gateway.stats.accept_dropped == 1
        assert gateway.stats.dropped == 0  # the link stayed up
        await until(lambda: len(receipts(batches)) == 1)  # the report still comes


@pytest.mark.parametrize("spec", EMULATED, ids=lambda s: s.name)
async def test_without_the_fault_the_same_send_is_answered(spec: Spec) -> None:
    # the control: the rig itself answers, so the tests above see the fault, not the rig
    async with running(spec, _dropping("close", share=0.0)) as r:
        outcomes = await r.channel.send(messages(spec, 1))
        assert all(isinstance(o, Accepted) for o in outcomes), outcomes


async def test_the_inbox_says_when_the_last_message_arrived() -> None:
    spec = next(s for s in EMULATED if s.name == "aliyun")
    async with running(spec, _dropping("close", server_error=0.0)) as r:
        base = str(r.channel._settings.base_url).rstrip("/")  # type: ignore[attr-defined]
        async with aiohttp.ClientSession() as http:
            empty = await (await http.get(f"{base}/emulator/inbox?summary=1")).json()
            await r.channel.send(messages(spec, 2))
            summary = await (await http.get(f"{base}/emulator/inbox?summary=1")).json()
        assert empty == {"total": 0, "first_at": None, "last_at": None}
        assert summary["total"] == 2 and summary["last_at"] >= summary["first_at"] > 0


async def test_the_test_hooks_are_never_faulted() -> None:
    spec = next(s for s in EMULATED if s.name == "wechat")
    faults = Options(faults=Faults(server_error=1.0, accept_drop=1.0, accept_drop_way="close"))
    async with running(spec, faults) as r:
        base = str(r.channel._settings.base_url).rstrip("/")  # type: ignore[attr-defined]
        async with aiohttp.ClientSession() as http:
            resp = await http.get(f"{base}/emulator/inbox")
            assert resp.status == 200 and await resp.json() == {}


# --- settling the unknown outcome, provider by provider -----------------------------


async def test_wechat_takes_the_resend_under_the_same_client_msg_id_once() -> None:
    spec = next(s for s in EMULATED if s.name == "wechat")
    async with running(spec, _dropping("close")) as r:
        sent = messages(spec, 1)
        assert _unknown(await r.channel.send(sent))
        assert await r.channel.lookup(sent) == [None]  # WeChat cannot be asked: resend
        await r.channel.send(sent)  # its answer is lost too; it is still one message
        assert len(r.received()[sent[0].recipient]) == 1


async def test_aliyun_lookup_finds_the_message_by_its_out_id() -> None:
    spec = next(s for s in EMULATED if s.name == "aliyun")
    async with running(spec, _dropping("close")) as r:
        sent = messages(spec, 1)
        assert _unknown(await r.channel.send(sent))
        found = await r.channel.lookup(sent)
        assert isinstance(found[0], Accepted), found


async def test_cmpp_report_settles_a_submit_whose_link_was_cut() -> None:
    faults = GatewayFaults(accept_drop=1.0, accept_drop_way="close")
    async with rig(faults) as (gateway, channel, batches):
        sent = batch(1)
        assert _unknown(await channel.send(sent))
        assert gateway.stats.accept_dropped == 1 and gateway.stats.dropped == 1
        gateway.faults.accept_drop = 0.0
        await until(lambda: len(receipts(batches)) == 1)
        found = await channel.lookup(sent)
        assert isinstance(found[0], Accepted), found
        assert gateway.inbox.total() == 1


async def test_tencent_lookup_does_not_call_a_message_in_flight_unsent() -> None:
    """Tencent lists a message in PullSmsSendStatusByPhoneNumber only once its carrier
    report is in: a message whose answer was lost and whose report is late stays unknown
    (asked again later), so dispatch does not send it twice."""
    faults = Faults(accept_drop=1.0, accept_drop_way="close")
    app = tencent_emu.build_app(
        secret_id="rig-id",
        secret_key=SECRET,
        faults=faults,
        report_delay=30.0,  # the carrier's report is late, as it often is
        account=TENCENT_ACCOUNT,
    )
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            settings = tencent_settings(str(server.make_url("/")))
            channel = tencent_sms.TencentSmsChannel(settings, session=http)
            sent = [templated("tencent", Message("k1", "13900000001", "低保复核公示"))]
            assert _unknown(await channel.send(sent))
            faults.accept_drop = 0.0
            # as dispatch asks: with the time the lost call ended
            asked = [replace(sent[0], sent_at=datetime.now(UTC))]
            found = await channel.lookup(asked)
            assert isinstance(found[0], Rejected) and isinstance(found[0].error, LookupFailed)
            if found[0] is None:  # what dispatch does with that answer: send it again
                await channel.send(sent)
            await channel.close()
        assert app[tencent_emu.STATE].inbox.counts() == {"13900000001": 1}
    finally:
        await server.close()


async def test_tencent_lookup_calls_an_old_unlisted_message_unsent() -> None:
    """Past the report wait, a message Tencent does not list counts as never sent (its call
    never reached Tencent), so dispatch sends it; so does one whose send time is unknown."""
    app = tencent_emu.build_app(secret_id="rig-id", secret_key=SECRET, account=TENCENT_ACCOUNT)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            settings = tencent_settings(str(server.make_url("/")))
            wait = timedelta(seconds=settings.report_wait_seconds)
            channel = tencent_sms.TencentSmsChannel(settings, session=http)
            never = templated("tencent", Message("k2", "13900000002", "低保复核公示"))
            old = replace(never, sent_at=datetime.now(UTC) - wait - timedelta(seconds=1))
            young = replace(never, sent_at=datetime.now(UTC) - wait + timedelta(seconds=30))
            found = await channel.lookup([old, never, young])
            await channel.close()
        assert found[:2] == [None, None]
        assert isinstance(found[2], Rejected) and isinstance(found[2].error, LookupFailed)
    finally:
        await server.close()


def test_pusher_emulate_takes_the_share_of_answers_to_lose(monkeypatch: pytest.MonkeyPatch) -> None:
    from pusher.cli import emulate, main

    seen: list[Any] = []

    def serve(provider: str, **kw: Any) -> int:
        seen.append((provider, kw["options"].faults()))
        return 0

    monkeypatch.setattr(emulate, "serve_emulator", serve)
    assert main.main(["emulate", "aliyun-sms", "--accept-drop-rate", "0.05"]) == 0
    assert seen[0][0] == "aliyun-sms" and seen[0][1].accept_drop == 0.05
