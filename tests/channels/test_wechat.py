"""The WeChat official-account channel against its emulator over real TCP."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr
from wechatpy.crypto import WeChatCrypto

from channels.base import (
    Accepted,
    CallbackBatch,
    FatalError,
    Message,
    PermanentError,
    Rejected,
    TransientError,
    UnknownOutcome,
)
from channels.emulators.common import Faults
from channels.emulators.wechat import FAILURES, STATE, WeChatEmulatorState, build_app, sign
from channels.wechat import WeChatChannel, WeChatSettings, parse_callback, verify_handshake
from channels.wechat_token import MemoryTokenStore, RedisTokenStore, TokenStore

APP_ID, SECRET, CB_TOKEN = "wx-test-app", "test-secret", "cb-token"
Serve = Callable[..., Awaitable[tuple[str, WeChatEmulatorState]]]


@pytest.fixture
async def servers() -> AsyncIterator[list[TestServer]]:
    started: list[TestServer] = []
    yield started
    for server in reversed(started):
        await server.close()


@pytest.fixture
def serve(servers: list[TestServer]) -> Serve:
    """Start an emulator on 127.0.0.1 and return its base URL and state."""

    async def start(**kwargs: Any) -> tuple[str, WeChatEmulatorState]:
        kwargs.setdefault("callback_token", CB_TOKEN)
        app = build_app(app_id=APP_ID, app_secret=SECRET, **kwargs)
        server = TestServer(app, host="127.0.0.1", port=0)
        await server.start_server()
        servers.append(server)
        return str(server.make_url("/")), app[STATE]

    return start


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def redis_prefix() -> AsyncIterator[tuple[aioredis.Redis, str]]:
    client = aioredis.Redis(host="127.0.0.1", port=6379)
    prefix = f"test-wechat-{uuid.uuid4().hex}"
    yield client, prefix
    keys = [k async for k in client.scan_iter(match=f"{prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


def settings_for(base_url: str, **kwargs: Any) -> WeChatSettings:
    values: dict[str, Any] = {
        "app_id": APP_ID,
        "app_secret": SecretStr(SECRET),
        "token": SecretStr(CB_TOKEN),
        "base_url": base_url,
        "template_id": "tpl-notice",
        "subscribe_template_id": "tpl-sub",
    }
    values.update(kwargs)
    return WeChatSettings(**values)


def channel_for(
    base_url: str,
    session: aiohttp.ClientSession,
    tokens: TokenStore | None = None,
    **kwargs: Any,
) -> WeChatChannel:
    settings = settings_for(base_url, **kwargs)
    return WeChatChannel(settings, session=session, tokens=tokens or MemoryTokenStore())


def notices(n: int, *, prefix: str = "o") -> list[Message]:
    return [
        Message(
            key=f"d-{prefix}-{i}",
            recipient=f"{prefix}user{i:03d}",
            text="村民低保复核公示",
            params={"thing1": "低保复核公示", "time2": "2026年11月22日"},
            url="https://example.gov.cn/n/1",
        )
        for i in range(n)
    ]


def errors(outcomes: list[Any]) -> list[tuple[type[Exception], str]]:
    return [(type(o.error), o.error.code) for o in outcomes if isinstance(o, Rejected)]


async def test_batch_gets_a_msgid_per_recipient_in_order(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    url, state = await serve()
    batch = notices(12)
    outcomes = await channel_for(url, session).send(batch)
    assert [o.key for o in outcomes] == [m.key for m in batch]
    assert all(isinstance(o, Accepted) for o in outcomes)
    ids = {o.provider_id for o in outcomes if isinstance(o, Accepted)}
    assert {int(i) for i in ids} == set(state.sent)
    assert state.inbox.counts() == {m.recipient: 1 for m in batch}
    assert "低保复核公示 2026年11月22日" in state.inbox.messages["ouser000"]
    assert state.token_calls == 1


async def test_emulator_defaults_make_a_usable_emulator(
    servers: list[TestServer], session: aiohttp.ClientSession
) -> None:
    server = TestServer(build_app(), host="127.0.0.1", port=0)
    await server.start_server()
    servers.append(server)
    settings = WeChatSettings(
        app_id="wx-emulator",
        app_secret=SecretStr("emulator-secret"),
        base_url=str(server.make_url("/")),
        template_id="tpl",
    )
    channel = WeChatChannel(settings, session=session, tokens=MemoryTokenStore())
    outcomes = await channel.send(notices(3))
    assert errors(outcomes) == []
    assert server.app[STATE].inbox.total() == 3


@pytest.mark.parametrize(
    ("recipient", "kwargs", "code"),
    [
        ("ostranger", {"followers": {"ouser000"}}, "43004"),
        ("oblocker", {"refused": {"oblocker"}}, "43101"),
        ("bad openid!", {}, "40003"),
    ],
)
async def test_unreachable_recipient_is_permanent_and_others_still_go(
    serve: Serve, session: aiohttp.ClientSession, recipient: str, kwargs: Any, code: str
) -> None:
    followers = kwargs.get("followers")
    if followers is not None:
        kwargs["followers"] = followers | {"ouser000", "ouser001"}
    url, state = await serve(**kwargs)
    batch = [*notices(2), Message(key="d-x", recipient=recipient, text="通知")]
    outcomes = await channel_for(url, session).send(batch)
    assert errors(outcomes) == [(PermanentError, code)]
    assert isinstance(outcomes[2], Rejected)
    assert recipient not in state.inbox.messages
    assert state.inbox.total() == 2


async def test_token_expiry_mid_run_refreshes_once_and_sends_each_once(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    url, state = await serve(faults=Faults(token_expiry_after=6))
    batch = notices(10)
    outcomes = await channel_for(url, session).send(batch)
    assert errors(outcomes) == []
    assert state.token_calls == 2
    assert state.inbox.counts() == {m.recipient: 1 for m in batch}


async def test_token_refused_forever_does_not_loop(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    url, state = await serve(reject_all_tokens=True)
    outcomes = await channel_for(url, session).send(notices(5))
    assert errors(outcomes) == [(TransientError, "40001")] * 5
    assert state.calls["/cgi-bin/message/template/send"] == 10
    assert state.token_calls == 2
    assert state.inbox.total() == 0


async def test_refused_secret_costs_one_token_call_per_batch(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    url, state = await serve()
    channel = channel_for(url, session, app_secret=SecretStr("wrong"))
    outcomes = await channel.send(notices(5))
    assert errors(outcomes) == [(FatalError, "40125")] * 5
    assert state.token_calls == 1
    assert state.calls.total() == 0


@pytest.mark.parametrize(
    ("fault", "error", "code"),
    [
        ("server_error", TransientError, "http_500"),
        ("throttle", TransientError, "45009"),
        ("timeout", UnknownOutcome, "timeout"),  # may have been taken: resent under its key
    ],
)
async def test_provider_trouble_is_transient(
    serve: Serve,
    session: aiohttp.ClientSession,
    fault: str,
    error: type[TransientError],
    code: str,
) -> None:
    faults = Faults(timeout_seconds=1.0)
    url, state = await serve(faults=faults)
    channel = channel_for(url, session, timeout_seconds=0.3)
    assert errors(await channel.send(notices(1, prefix="warm"))) == []
    setattr(faults, fault, 1.0)  # from now on, with a token already cached
    outcomes = await channel.send(notices(3))
    assert errors(outcomes) == [(error, code)] * 3
    assert state.inbox.total() == 1
    assert state.token_calls == 1


async def test_two_workers_sharing_redis_fetch_the_token_once(
    serve: Serve,
    session: aiohttp.ClientSession,
    redis_prefix: tuple[aioredis.Redis, str],
) -> None:
    client, prefix = redis_prefix
    url, state = await serve(faults=Faults(token_expiry_after=15))
    first = channel_for(url, session, RedisTokenStore(client, prefix))
    second = channel_for(url, session, RedisTokenStore(client, prefix))
    results = await asyncio.gather(
        first.send(notices(10, prefix="a")), second.send(notices(10, prefix="b"))
    )
    assert [errors(r) for r in results] == [[], []]
    # One fetch cold, then exactly one refresh when the token expired mid-run.
    assert state.token_calls == 2
    assert state.inbox.total() == 20
    assert await client.ttl(f"{prefix}:wechat:{APP_ID}:token") > 0


async def test_same_key_twice_is_delivered_once(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    url, state = await serve()
    channel = channel_for(url, session)
    first = await channel.send(notices(1))
    again = await channel.send(notices(1))
    assert first == again
    assert state.inbox.counts() == {"ouser000": 1}


async def test_subscribe_mode_uses_bizsend(serve: Serve, session: aiohttp.ClientSession) -> None:
    url, state = await serve()
    outcomes = await channel_for(url, session, mode="subscribe").send(notices(2))
    assert outcomes == [Accepted("d-o-0", "bizsend:d-o-0"), Accepted("d-o-1", "bizsend:d-o-1")]
    assert state.calls["/cgi-bin/message/subscribe/bizsend"] == 2
    assert {s.template_id for s in state.sent.values()} == {"tpl-sub"}


@pytest.mark.usefixtures("settled_heap")
async def test_event_loop_stays_responsive_while_sending(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    url, _ = await serve(faults=Faults(slow_seconds=0.02))
    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append(time.perf_counter() - before - 0.005)

    tick = asyncio.create_task(ticker())
    outcomes = await channel_for(url, session).send(notices(50))
    stop.set()
    await tick
    assert errors(outcomes) == []
    assert len(lags) > 10
    assert max(lags) < 0.1


def test_callback_signature_vector_from_reference() -> None:
    expected = "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff"
    assert sign("test", "1410685589", "test") == expected
    settings = WeChatSettings(token=SecretStr("test"))
    query = {"signature": expected, "timestamp": "1410685589", "nonce": "test", "echostr": "e1"}
    assert verify_handshake(query, settings) == "e1"
    with pytest.raises(PermanentError) as refused:
        verify_handshake({**query, "nonce": "other"}, settings)
    assert refused.value.code == "invalid_signature"


def signed(token: str = CB_TOKEN) -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:8]
    return {"signature": sign(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}


async def test_receipts_arrive_from_the_emulator(
    serve: Serve, session: aiohttp.ClientSession, servers: list[TestServer]
) -> None:
    received: list[CallbackBatch] = []
    done = asyncio.Event()
    settings = settings_for("unused")

    async def callback(request: web.Request) -> web.Response:
        batch = parse_callback(await request.read(), query=request.query, settings=settings)
        received.append(batch)
        if len(received) == 6:
            done.set()
        return web.Response(body=batch.reply, content_type=batch.content_type)

    receiver = web.Application()
    receiver.router.add_post("/callbacks/wechat", callback)
    server = TestServer(receiver, host="127.0.0.1", port=0)
    await server.start_server()
    servers.append(server)
    faults = Faults(receipt_failure=0.5, seed=7)
    url, state = await serve(faults=faults, callback_url=str(server.make_url("/callbacks/wechat")))
    outcomes = await channel_for(url, session).send(notices(6))
    await asyncio.wait_for(done.wait(), 5)
    receipts = {r.provider_id: r for b in received for r in b.receipts}
    assert set(receipts) == {o.provider_id for o in outcomes if isinstance(o, Accepted)}
    assert {r.recipient for r in receipts.values()} == {f"ouser{i:03d}" for i in range(6)}
    assert all(r.delivered == (r.code == "success") for r in receipts.values())
    assert {r.code for r in receipts.values()} - {"success"} <= set(FAILURES)
    assert any(not r.delivered for r in receipts.values())
    assert [reply for _, reply in state.callbacks] == ["success"] * 6


UNSUBSCRIBE = (
    b"<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[oLeaver]]>"
    b"</FromUserName><CreateTime>1732233600</CreateTime><MsgType><![CDATA[event]]></MsgType>"
    b"<Event><![CDATA[unsubscribe]]></Event></xml>"
)


def test_unsubscribe_becomes_an_opt_out() -> None:
    batch = parse_callback(UNSUBSCRIBE, query=signed(), settings=settings_for("x"))
    assert [(o.recipient, o.reason) for o in batch.opt_outs] == [("oLeaver", "unsubscribe")]
    assert batch.receipts == [] and batch.reply == b"success"


def _follow(openid: str, scene: str = "") -> bytes:
    """A follow event; with a QR code scene it carries EventKey and Ticket as well."""
    extra = (
        f"<EventKey><![CDATA[qrscene_{scene}]]></EventKey><Ticket><![CDATA[t1]]></Ticket>"
        if scene
        else ""
    )
    return (
        f"<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
        f"</FromUserName><CreateTime>1732233600</CreateTime><MsgType><![CDATA[event]]>"
        f"</MsgType><Event><![CDATA[subscribe]]></Event>{extra}</xml>"
    ).encode()


def test_a_follow_plain_or_by_qr_code_is_reported_as_a_follow() -> None:
    settings = settings_for("x")
    plain = parse_callback(_follow("oBack"), query=signed(), settings=settings)
    scanned = parse_callback(_follow("oScan", scene="360123"), query=signed(), settings=settings)
    assert (plain.follows, scanned.follows) == (["oBack"], ["oScan"])
    assert plain.opt_outs == [] == scanned.opt_outs and plain.reply == b"success"


def test_bad_signature_is_refused() -> None:
    with pytest.raises(PermanentError) as refused:
        parse_callback(UNSUBSCRIBE, query=signed("wrong-token"), settings=settings_for("x"))
    assert refused.value.code == "invalid_signature"
    with pytest.raises(PermanentError):
        parse_callback(UNSUBSCRIBE, query={}, settings=settings_for("x"))


def test_safe_mode_event_is_decrypted() -> None:
    aes_key = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
    settings = settings_for("x", encoding_aes_key=SecretStr(aes_key))
    query = signed()
    encrypted = WeChatCrypto(CB_TOKEN, aes_key, APP_ID).encrypt_message(
        UNSUBSCRIBE.decode(), query["nonce"], query["timestamp"]
    )
    msg_signature = encrypted.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    query |= {"encrypt_type": "aes", "msg_signature": msg_signature}
    batch = parse_callback(encrypted.encode(), query=query, settings=settings)
    assert [o.recipient for o in batch.opt_outs] == ["oLeaver"]
    with pytest.raises(PermanentError):
        parse_callback(
            encrypted.encode(), query=query | {"msg_signature": "0" * 40}, settings=settings
        )


def test_subscribe_sent_event_gives_receipts() -> None:
    xml = (
        b"<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[oU1]]>"
        b"</FromUserName><CreateTime>1732233600</CreateTime><MsgType><![CDATA[event]]>"
        b"</MsgType><Event><![CDATA[subscribe_msg_sent_event]]></Event><SubscribeMsgSentEvent>"
        b"<List><TemplateId><![CDATA[t]]></TemplateId><MsgID>1700827132819554304</MsgID>"
        b"<ErrorCode>0</ErrorCode><ErrorStatus><![CDATA[success]]></ErrorStatus></List>"
        b"</SubscribeMsgSentEvent></xml>"
    )
    batch = parse_callback(xml, query=signed(), settings=settings_for("x"))
    assert [(r.provider_id, r.delivered, r.recipient) for r in batch.receipts] == [
        ("1700827132819554304", True, "oU1")
    ]


def test_settings_hide_secrets() -> None:
    settings = settings_for("x", encoding_aes_key=SecretStr("aes-secret-value"))
    shown = repr(settings) + str(settings)
    assert SECRET not in shown and CB_TOKEN not in shown and "aes-secret-value" not in shown
    assert settings.configured
    assert not WeChatSettings().configured


@pytest.fixture(params=["memory", "redis"])
def stores(
    request: pytest.FixtureRequest, redis_prefix: tuple[aioredis.Redis, str]
) -> list[TokenStore]:
    """Five workers' views of one account's token: one process, or five sharing Redis."""
    if request.param == "memory":
        return [MemoryTokenStore()] * 5
    client, prefix = redis_prefix
    return [RedisTokenStore(client, prefix, poll_seconds=0.01) for _ in range(5)]


async def test_store_refreshes_once_however_many_ask(stores: list[TokenStore]) -> None:
    fetched: list[str] = []

    async def fetch() -> tuple[str, int]:
        await asyncio.sleep(0.05)
        fetched.append(f"T{len(fetched) + 1}")
        return fetched[-1], 7200

    assert await asyncio.gather(*(s.get(APP_ID, fetch) for s in stores)) == ["T1"] * 5
    refreshed = await asyncio.gather(*(s.refresh(APP_ID, "T1", fetch) for s in stores * 4))
    assert refreshed == ["T2"] * 20
    # A worker that comes late with the old token gets the new one, no fetch.
    assert await stores[2].refresh(APP_ID, "T1", fetch) == "T2"
    assert await stores[3].get(APP_ID, fetch) == "T2"
    assert await stores[4].refresh(APP_ID, "T2", fetch) == "T3"
    assert fetched == ["T1", "T2", "T3"]


async def test_events_for_a_slow_callback_url_wait_in_a_queue_not_as_tasks(
    serve: Serve, servers: list[TestServer], session: aiohttp.ClientSession
) -> None:
    """A county push once left 350,000 callback requests waiting inside the emulator
    (its whole CPU went to them); events wait as queue entries for a fixed set of posters."""
    release = asyncio.Event()
    received: list[bytes] = []

    async def held(request: web.Request) -> web.Response:
        await release.wait()
        received.append(await request.read())
        return web.Response(text="success")

    receiver = web.Application()
    receiver.router.add_post("/callbacks/wechat", held)
    server = TestServer(receiver, host="127.0.0.1", port=0)
    await server.start_server()
    servers.append(server)
    url, state = await serve(callback_url=str(server.make_url("/callbacks/wechat")))
    channel = channel_for(url, session, max_concurrency=64)
    before = _background_tasks()
    for n in range(3):
        outcomes = await channel.send(notices(200, prefix=f"q{n}"))
        assert all(isinstance(o, Accepted) for o in outcomes)
    await asyncio.sleep(0.1)  # every event due, every poster holding one
    assert _background_tasks() - before < 20  # not one task per waiting event
    release.set()
    await asyncio.wait_for(state.drain(), 10)
    assert len(received) == len(state.callbacks) == 600


def _background_tasks() -> int:
    """Tasks other than the servers' (a connection's and its request's)."""
    servers = ("RequestHandler.start", "RequestHandler._handle_request")
    return sum(1 for t in asyncio.all_tasks() if t.get_coro().__qualname__ not in servers)


def _receipt_xml(msgid: str, status: str, *, space: str = "", cdata: bool = False) -> bytes:
    def v(text: str) -> str:
        return f"<![CDATA[{space}{text}{space}]]>" if cdata else f"{space}{text}{space}"

    return (
        f"<xml><ToUserName>{v('gh_x')}</ToUserName><FromUserName>{v('oReader')}</FromUserName>"
        f"<CreateTime>1732233600</CreateTime><MsgType>{v('event')}</MsgType>"
        f"<Event>{v('TEMPLATESENDJOBFINISH')}</Event><MsgID>{msgid}</MsgID>"
        f"<Status>{v(status)}</Status></xml>"
    ).encode()


@pytest.mark.parametrize("cdata", [False, True])
@pytest.mark.parametrize("space", ["", " ", "\n  "])
@pytest.mark.parametrize(
    ("msgid", "status"),
    [
        ("413348094", "success"),
        ("000123", "success"),
        ("98765432101234567", "failed:user block"),
        ("7", "failed: system failed"),
    ],
)
def test_a_template_receipt_reads_as_wechatpy_reads_it(
    msgid: str, status: str, space: str, cdata: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Template receipts skip wechatpy's parse (one parse a callback, not two); what they
    say must be what wechatpy would have read from the same body."""
    from wechatpy import parse_message

    body = _receipt_xml(msgid, status, space=space, cdata=cdata)
    event = parse_message(body)
    monkeypatch.setattr("channels.wechat.parse_message", _second_parse)
    batch = parse_callback(body, query=signed(), settings=settings_for("x"))
    assert [(r.provider_id, r.delivered, r.code, r.recipient, r.at) for r in batch.receipts] == [
        (
            str(event.id), str(event.status) == "success", str(event.status), str(event.source),
            datetime.fromtimestamp(int(event.time), UTC),
        )
    ]  # fmt: skip


def _second_parse(xml: object) -> None:
    raise AssertionError("a template receipt was parsed a second time, by wechatpy")


async def test_a_batch_is_sent_by_at_most_max_concurrency_tasks(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    """A task per sender, not per message (each one a task to make and schedule), with the
    outcomes still in the messages' order."""
    url, state = await serve()
    channel = channel_for(url, session, max_concurrency=8)
    loop = asyncio.get_running_loop()
    made: list[str] = []

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        made.append(getattr(coro, "__qualname__", ""))
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(factory)
    try:
        messages = notices(200, prefix="t")
        outcomes = await channel.send(messages)
    finally:
        loop.set_task_factory(None)
    assert [o.key for o in outcomes] == [m.key for m in messages]
    assert all(isinstance(o, Accepted) for o in outcomes)
    ours = [name for name in made if name.startswith("WeChatChannel.")]
    assert 0 < len(ours) <= 8, ours[:3]
    assert len(state.sent) == 200
