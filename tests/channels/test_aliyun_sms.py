"""Aliyun SMS channel against the local Dysmsapi emulator over real TCP."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr
from yarl import URL

from channels import signing
from channels.aliyun_sms import AliyunSmsChannel, AliyunSmsSettings, parse_callback
from channels.base import (
    Accepted,
    CallbackBatch,
    FatalError,
    Message,
    PermanentError,
    Rejected,
    TransientError,
)
from channels.emulators.aliyun_sms import STATE, AliyunSmsState, build_app, send_uplink
from channels.emulators.common import Faults


@dataclass
class Receiver:
    """Our side of the callbacks: parses what the emulator posts."""

    url: str = ""
    batches: list[CallbackBatch] = field(default_factory=list)
    replies: list[bytes] = field(default_factory=list)


@dataclass
class Rig:
    channel: AliyunSmsChannel
    state: AliyunSmsState
    app: web.Application
    server: TestServer



@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()

    def view(kind: Literal["report", "up"]) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.Response:
            batch = parse_callback(await request.read(), kind=kind)
            rec.batches.append(batch)
            return web.Response(body=batch.reply, content_type=batch.content_type)

        return handle

    app = web.Application()
    app.router.add_post("/report", view("report"))
    app.router.add_post("/up", view("up"))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    rec.url = str(server.make_url(""))
    yield rec
    await server.close()


RigFactory = Callable[..., Coroutine[Any, Any, Rig]]


@pytest.fixture
async def rig(http: aiohttp.ClientSession, receiver: Receiver) -> AsyncIterator[RigFactory]:
    servers: list[TestServer] = []

    async def make(
        *,
        secret: str = "emulator-secret",
        version: str = "v1",
        client_timeout: float = 5,
        **kw: Any,
    ) -> Rig:
        app = build_app(report_url=f"{receiver.url}/report", up_url=f"{receiver.url}/up", **kw)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        settings = AliyunSmsSettings(
            access_key_id="emulator-key",
            access_key_secret=SecretStr(secret),
            sign_name="某某镇政府",
            template_code="SMS_123",
            base_url=str(server.make_url("/")),
            signature_version=version,
            timeout_seconds=client_timeout,
        )
        return Rig(AliyunSmsChannel(settings, session=http), app[STATE], app, server)

    yield make
    for server in servers:
        await server.close()


def phone(i: int) -> str:
    return f"1390000{i:04d}"


def same_text(n: int, text: str = "明日停水通知") -> list[Message]:
    return [Message(f"k{i}", phone(i), text, {"content": text}) for i in range(n)]


async def test_2500_numbers_same_text_go_in_three_calls_each_number_once(rig: RigFactory) -> None:
    r = await rig()
    outcomes = await r.channel.send(same_text(2500))
    assert all(isinstance(o, Accepted) for o in outcomes)
    assert [o.key for o in outcomes] == [f"k{i}" for i in range(2500)]
    assert sorted(c["numbers"] for c in r.state.calls) == [500, 1000, 1000]
    assert {c["action"] for c in r.state.calls} == {"SendSms"}
    assert set(r.state.inbox.counts().values()) == {1}
    assert r.state.inbox.total() == 2500
    assert r.state.inbox.messages[phone(7)] == ["【某某镇政府】明日停水通知"]
    assert len({o.provider_id for o in outcomes if isinstance(o, Accepted)}) == 2500


@pytest.mark.parametrize("version", ["v1", "v3"])
async def test_differing_params_use_send_batch_sms(rig: RigFactory, version: str) -> None:
    r = await rig(version=version)
    msgs = [Message(f"k{i}", phone(i), "", {"name": f"村民{i}"}) for i in range(150)]
    outcomes = await r.channel.send(msgs)
    assert all(isinstance(o, Accepted) for o in outcomes)
    assert sorted((c["action"], c["numbers"]) for c in r.state.calls) == [
        ("SendBatchSms", 50),
        ("SendBatchSms", 100),
    ]
    assert r.state.inbox.messages[phone(42)] == ["【某某镇政府】村民42"]


async def test_templates_render_and_missing_variables_are_refused(rig: RigFactory) -> None:
    r = await rig(templates={"SMS_123": "${name}您好，${what}"})
    ok = await r.channel.send([Message("a", phone(1), "", {"name": "张三", "what": "请领补贴"})])
    bad = await r.channel.send([Message("b", phone(2), "", {"name": "李四"})])
    assert isinstance(ok[0], Accepted)
    assert r.state.inbox.messages[phone(1)] == ["【某某镇政府】张三您好，请领补贴"]
    assert isinstance(bad[0], Rejected)
    assert bad[0].error.code == "isv.TEMPLATE_MISSING_PARAMETERS"
    assert isinstance(bad[0].error, PermanentError)


async def test_shared_phone_gets_both_messages_with_distinct_ids(rig: RigFactory) -> None:
    r = await rig()
    msgs = [Message(k, phone(1), "同一户", {"content": "同一户"}) for k in ("a", "b")]
    outcomes = await r.channel.send(msgs)
    ids = {o.provider_id for o in outcomes if isinstance(o, Accepted)}
    assert len(ids) == 2
    assert r.state.inbox.counts()[phone(1)] == 2


async def test_wrong_secret_is_a_fatal_signature_error(rig: RigFactory) -> None:
    r = await rig(secret="not-the-secret")
    outcomes = await r.channel.send(same_text(3))
    assert all(isinstance(o, Rejected) for o in outcomes)
    errors = [o.error for o in outcomes if isinstance(o, Rejected)]
    assert {(type(e), e.code) for e in errors} == {(FatalError, "SignatureDoesNotMatch")}
    assert r.state.inbox.total() == 0


@pytest.mark.parametrize(
    ("faults", "code"),
    [(Faults(server_error=1.0), "http_500"), (Faults(throttle=1.0), "Throttling.User")],
)
async def test_server_errors_and_throttling_are_transient_for_the_batch(
    rig: RigFactory, faults: Faults, code: str
) -> None:
    r = await rig(faults=faults)
    outcomes = await r.channel.send(same_text(5))
    assert all(isinstance(o, Rejected) and isinstance(o.error, TransientError) for o in outcomes)
    assert {o.error.code for o in outcomes if isinstance(o, Rejected)} == {code}


async def test_timeout_is_transient(rig: RigFactory) -> None:
    r = await rig(faults=Faults(timeout=1.0, timeout_seconds=3), client_timeout=0.2)
    outcomes = await r.channel.send(same_text(2))
    assert [o.error.code for o in outcomes if isinstance(o, Rejected)] == ["timeout", "timeout"]


async def test_daily_cap_per_number_is_transient(rig: RigFactory) -> None:
    r = await rig(daily_cap_per_number=1)
    first = await r.channel.send([Message("a", phone(1), "x", {"content": "第一条"})])
    second = await r.channel.send([Message("b", phone(1), "x", {"content": "第二条"})])
    assert isinstance(first[0], Accepted)
    assert isinstance(second[0], Rejected)
    assert isinstance(second[0].error, TransientError)
    assert second[0].error.code == "isv.BUSINESS_LIMIT_CONTROL"
    assert r.state.inbox.counts()[phone(1)] == 1


async def test_over_long_text_is_refused(rig: RigFactory) -> None:
    r = await rig()
    sign_len = len("【某某镇政府】")
    fits = await r.channel.send(same_text(1, "通" * (500 - sign_len)))
    too_long = await r.channel.send(same_text(1, "通" * (501 - sign_len)))
    assert isinstance(fits[0], Accepted)
    assert isinstance(too_long[0], Rejected)
    assert too_long[0].error.code == "isv.PARAM_LENGTH_LIMIT"
    assert isinstance(too_long[0].error, PermanentError)


async def test_more_than_1000_numbers_in_one_call_is_refused(rig: RigFactory) -> None:
    r = await rig()
    numbers = ",".join(phone(i) for i in range(1001))
    params = {"PhoneNumbers": numbers, "SignName": "某某镇政府", "TemplateCode": "SMS_123"}
    with pytest.raises(PermanentError) as caught:
        await r.channel.call("SendSms", params | {"TemplateParam": '{"content":"x"}'})
    assert caught.value.code == "isv.MOBILE_COUNT_OVER_LIMIT"


@pytest.mark.parametrize(("failure", "delivered"), [(0.0, True), (1.0, False)])
async def test_receipts_match_the_provider_ids_of_the_send(
    rig: RigFactory, receiver: Receiver, failure: float, delivered: bool
) -> None:
    r = await rig(faults=Faults(receipt_failure=failure))
    outcomes = await r.channel.send([*same_text(3), Message("solo", phone(9), "", {"a": "b"})])
    await r.state.drain()
    receipts = [rc for b in receiver.batches for rc in b.receipts]
    sent_ids = {o.provider_id for o in outcomes if isinstance(o, Accepted)}
    assert {rc.provider_id for rc in receipts} == sent_ids
    assert len(sent_ids) == 4
    assert {rc.delivered for rc in receipts} == {delivered}
    assert all(rc.at is not None for rc in receipts)


async def test_uplink_td_becomes_an_opt_out(rig: RigFactory, receiver: Receiver) -> None:
    r = await rig()
    await send_uplink(r.app, phone(3), " td ")
    await send_uplink(r.app, phone(4), "好的收到")
    opt_outs = [o for b in receiver.batches for o in b.opt_outs]
    assert [(o.recipient, o.reason) for o in opt_outs] == [(phone(3), " td ")]
    assert json.loads(receiver.batches[0].reply) == {"code": 0, "msg": "接收成功"}


async def test_lookup_finds_a_sent_message_and_not_an_unsent_one(rig: RigFactory) -> None:
    r = await rig()
    sent = await r.channel.send([Message("a", phone(1), "", {"content": "领取补贴"})])
    found = await r.channel.lookup(
        [
            Message("a", phone(1), "", {"content": "领取补贴"}),
            Message("never", phone(2), "", {"content": "领取补贴"}),
        ]
    )
    assert found == [sent[0], None]


async def test_nonce_replay_and_stale_timestamp_are_refused(
    rig: RigFactory, http: aiohttp.ClientSession
) -> None:
    r = await rig()
    query = {"Action": "QuerySendDetails", "Version": "2017-05-25", "PhoneNumber": phone(1)}
    query |= {"SendDate": "20260101", "PageSize": "10", "CurrentPage": "1"}

    async def post(nonce: str, at: datetime) -> dict[str, Any]:
        signed = signing.aliyun_v1_signed_params(
            query,
            access_key_id="emulator-key",
            secret="emulator-secret",
            nonce=nonce,
            timestamp=at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        async with http.post(r.server.make_url("/"), data=signed) as resp:
            return dict(await resp.json())

    now = datetime.now(UTC)
    assert (await post("n1", now))["Code"] == "OK"
    assert (await post("n1", now))["Code"] == "SignatureNonceUsed"
    assert (await post(uuid.uuid4().hex, now - timedelta(hours=1)))["Code"] == (
        "InvalidTimeStamp.Expired"
    )


def test_settings_hide_the_secret_and_know_when_configured() -> None:
    empty = AliyunSmsSettings()
    full = AliyunSmsSettings(
        access_key_id="id",
        access_key_secret=SecretStr("top-secret"),
        sign_name="镇政府",
        template_code="SMS_1",
    )
    assert not empty.configured
    assert full.configured
    assert "top-secret" not in repr(full)
    assert "top-secret" not in str(full.model_dump())


@pytest.mark.parametrize(
    ("content", "opts_out"),
    [("TD", True), ("退订", True), ("t", True), ("R", True), (" n\n", True), ("TD退订", False)],
)
def test_uplink_words_that_opt_out(content: str, opts_out: bool) -> None:
    body = json.dumps({"phone_number": "+8613900000001", "content": content}).encode()
    batch = parse_callback(body, kind="up")
    assert [o.recipient for o in batch.opt_outs] == (["13900000001"] if opts_out else [])


async def test_sdk_style_query_with_plus_encoding_and_1000_numbers_is_accepted(
    rig: RigFactory, http: aiohttp.ClientSession
) -> None:
    """The SDK sends everything in the query, spaces as '+'; the emulator re-canonicalises."""
    r = await rig()
    params = {
        "Action": "SendSms",
        "Version": "2017-05-25",
        "PhoneNumbers": ",".join(phone(i) for i in range(1000)),
        "SignName": "某某镇政府",
        "TemplateCode": "SMS_123",
        "TemplateParam": '{"content": "明天 9:00 停水"}',
    }
    signed = signing.aliyun_v1_signed_params(
        params,
        access_key_id="emulator-key",
        secret="emulator-secret",
        nonce=uuid.uuid4().hex,
        timestamp=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    url = URL(f"{r.server.make_url('/')}?{urlencode(signed)}", encoded=True)
    async with http.post(url) as resp:
        answer = await resp.json()
    assert answer["Code"] == "OK"
    assert r.state.inbox.total() == 1000
    assert r.state.inbox.messages[phone(999)] == ["【某某镇政府】明天 9:00 停水"]
