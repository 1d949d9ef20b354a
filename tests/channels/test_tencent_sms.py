"""Tencent Cloud SMS channel against the local API 3.0 emulator over real TCP."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from channels import signing
from channels.base import Accepted, CallbackBatch, Message, PermanentError, Rejected, TransientError
from channels.emulators.common import Faults
from channels.emulators.tencent_sms import STATE, TencentSmsState, build_app, send_uplink
from channels.tencent_sms import TencentSmsChannel, TencentSmsSettings, parse_callback

SIGN = "某某镇政府"


@dataclass
class Receiver:
    """Our side of the callbacks: parses what the emulator posts."""

    url: str = ""
    batches: list[CallbackBatch] = field(default_factory=list)


@dataclass
class Rig:
    channel: TencentSmsChannel
    state: TencentSmsState
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
        *, secret: str = "emulator-secret", names: list[str] | None = None, **kw: Any
    ) -> Rig:
        app = build_app(report_url=f"{receiver.url}/report", up_url=f"{receiver.url}/up", **kw)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        settings = TencentSmsSettings(
            secret_id="emulator-key",
            secret_key=SecretStr(secret),
            sdk_app_id="1400006666",
            sign_name=SIGN,
            template_id="T1",
            template_param_names=names or [],
            base_url=str(server.make_url("/")),
        )
        return Rig(TencentSmsChannel(settings, session=http), app[STATE], app, server)

    yield make
    for server in servers:
        await server.close()


def phone(i: int) -> str:
    return f"1390000{i:04d}"


def same_text(n: int, text: str = "明日停水通知", first: int = 0) -> list[Message]:
    return [Message(str(i), phone(i), text) for i in range(first, first + n)]


def codes(outcomes: list[Any]) -> list[str]:
    return [o.error.code if isinstance(o, Rejected) else "Ok" for o in outcomes]


async def test_same_text_to_450_numbers_each_number_once_at_most_200_per_call(
    rig: RigFactory,
) -> None:
    r = await rig()
    outcomes = await r.channel.send(same_text(450))
    assert codes(outcomes) == ["Ok"] * 450
    assert max(c["numbers"] for c in r.state.calls) <= 200
    assert sum(c["numbers"] for c in r.state.calls) == 450
    assert set(r.state.inbox.counts().values()) == {1}
    assert r.state.inbox.total() == 450
    assert r.state.inbox.messages[phone(3)] == [f"【{SIGN}】明日停水通知"]
    assert len({o.provider_id for o in outcomes if isinstance(o, Accepted)}) == 450


async def test_more_than_200_numbers_in_one_call_is_refused(rig: RigFactory) -> None:
    r = await rig()
    payload = {
        "PhoneNumberSet": [f"+86{phone(i)}" for i in range(201)],
        "SmsSdkAppId": "1400006666",
        "TemplateId": "T1",
        "SignName": SIGN,
        "TemplateParamSet": ["x"],
    }
    with pytest.raises(PermanentError) as caught:
        await r.channel.call("SendSms", payload)
    assert caught.value.code == "LimitExceeded.PhoneNumberCountLimit"


async def test_daily_cap_fails_only_that_number_and_is_transient(rig: RigFactory) -> None:
    r = await rig(daily_cap_per_number=1)
    await r.channel.send(same_text(1, "第一条"))
    outcomes = await r.channel.send(same_text(3, "第二条"))
    assert codes(outcomes) == ["LimitExceeded.PhoneNumberDailyLimit", "Ok", "Ok"]
    assert isinstance(outcomes[0], Rejected)
    assert isinstance(outcomes[0].error, TransientError)
    assert r.state.inbox.counts() == {phone(0): 1, phone(1): 1, phone(2): 1}


async def test_bad_number_fails_alone_and_permanently(rig: RigFactory) -> None:
    r = await rig()
    msgs = [Message("a", phone(1), "通知"), Message("b", "12345", "通知")]
    outcomes = await r.channel.send(msgs)
    assert codes(outcomes) == ["Ok", "InvalidParameterValue.IncorrectPhoneNumber"]
    assert isinstance(outcomes[1], Rejected)
    assert isinstance(outcomes[1].error, PermanentError)


async def test_wrong_secret_is_a_permanent_signature_failure(rig: RigFactory) -> None:
    r = await rig(secret="not-the-secret")
    outcomes = await r.channel.send(same_text(3))
    assert codes(outcomes) == ["AuthFailure.SignatureFailure"] * 3
    assert all(isinstance(o, Rejected) and isinstance(o.error, PermanentError) for o in outcomes)
    assert r.state.inbox.total() == 0


@pytest.mark.parametrize(
    ("faults", "code"),
    [(Faults(server_error=1.0), "http_500"), (Faults(throttle=1.0), "RequestLimitExceeded")],
)
async def test_server_errors_and_throttling_are_transient_for_the_batch(
    rig: RigFactory, faults: Faults, code: str
) -> None:
    r = await rig(faults=faults)
    outcomes = await r.channel.send(same_text(4))
    assert codes(outcomes) == [code] * 4
    assert all(isinstance(o, Rejected) and isinstance(o.error, TransientError) for o in outcomes)


async def test_over_long_text_is_refused(rig: RigFactory) -> None:
    r = await rig()
    room = 500 - len(f"【{SIGN}】")
    fits = await r.channel.send(same_text(1, "通" * room))
    too_long = await r.channel.send(same_text(1, "通" * (room + 1), first=1))
    assert codes(fits) == ["Ok"]
    assert codes(too_long) == ["InvalidParameterValue.ContentLengthLimit"]


@pytest.mark.parametrize(
    ("names", "text"),
    [(None, "张三您好，请领补贴"), (["b", "a"], "请领补贴您好，张三")],
)
async def test_template_params_follow_the_documented_order(
    rig: RigFactory, names: list[str] | None, text: str
) -> None:
    r = await rig(names=names, templates={"T1": "{1}您好，{2}"})
    await r.channel.send([Message("a", phone(1), "", {"b": "请领补贴", "a": "张三"})])
    assert r.state.inbox.messages[phone(1)] == [f"【{SIGN}】{text}"]


@pytest.mark.parametrize(("failure", "delivered"), [(0.0, True), (1.0, False)])
async def test_status_callbacks_match_the_serial_numbers_of_the_send(
    rig: RigFactory, receiver: Receiver, failure: float, delivered: bool
) -> None:
    r = await rig(faults=Faults(receipt_failure=failure))
    outcomes = await r.channel.send([*same_text(3), Message("x", phone(9), "", {"a": "b"})])
    await r.state.drain()
    receipts = [rc for b in receiver.batches for rc in b.receipts]
    sent_ids = {o.provider_id for o in outcomes if isinstance(o, Accepted)}
    assert len(sent_ids) == 4
    assert {rc.provider_id for rc in receipts} == sent_ids
    assert {rc.delivered for rc in receipts} == {delivered}
    assert json.loads(receiver.batches[0].reply) == {"result": 0, "errmsg": "OK"}


async def test_reply_td_opts_out_and_blacklists_the_number(
    rig: RigFactory, receiver: Receiver
) -> None:
    r = await rig()
    await send_uplink(r.app, phone(5), "退订")
    await send_uplink(r.app, phone(6), "谢谢")
    opt_outs = [o for b in receiver.batches for o in b.opt_outs]
    assert [(o.recipient, o.reason) for o in opt_outs] == [(phone(5), "退订")]
    outcomes = await r.channel.send(same_text(1, first=5))
    assert codes(outcomes) == ["FailedOperation.PhoneNumberInBlacklist"]


async def test_lookup_finds_a_sent_message_and_not_an_unsent_one(rig: RigFactory) -> None:
    r = await rig()
    sent = await r.channel.send(same_text(2))
    await r.state.drain()
    found = await r.channel.lookup([same_text(1)[0], Message("never", phone(1), "明日停水通知")])
    assert found == [sent[0], None]


async def test_stale_timestamp_is_refused(rig: RigFactory, http: aiohttp.ClientSession) -> None:
    r = await rig()
    url = r.server.make_url("/")
    stamp = int(time.time()) - 600
    body = json.dumps({"PhoneNumber": "+8613900000001", "SmsSdkAppId": "1"}).encode()
    headers = signing.tc3_signed_headers(
        {"content-type": "application/json", "host": f"{url.host}:{url.port}"},
        body,
        secret_id="emulator-key",
        secret_key="emulator-secret",
        timestamp=stamp,
        service="sms",
    )
    headers |= {"x-tc-action": "PullSmsSendStatusByPhoneNumber", "x-tc-timestamp": str(stamp)}
    async with http.post(
        url, data=body, headers=headers | {"x-tc-region": "ap-guangzhou"}
    ) as resp:
        answer = await resp.json()
    assert answer["Response"]["Error"]["Code"] == "AuthFailure.SignatureExpire"


def test_settings_hide_the_secret_and_know_when_configured() -> None:
    full = TencentSmsSettings(
        secret_id="id",
        secret_key=SecretStr("top-secret"),
        sdk_app_id="1400006666",
        sign_name=SIGN,
        template_id="1",
    )
    assert full.configured
    assert not TencentSmsSettings().configured
    assert "top-secret" not in repr(full)


@pytest.mark.parametrize(
    ("text", "opts_out"), [("TD", True), ("退订", True), ("r", True), ("好的", False)]
)
def test_reply_words_that_opt_out(text: str, opts_out: bool) -> None:
    body = json.dumps([{"mobile": "13900000001", "nationcode": "86", "text": text}]).encode()
    batch = parse_callback(body, kind="up")
    assert [o.recipient for o in batch.opt_outs] == (["13900000001"] if opts_out else [])
