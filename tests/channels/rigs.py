"""One table of channels under test: each real client wired to its emulator.

Shared by the contract tests and the send-test tests (``specs.SPECS`` puts them in
the registry's order). A :class:`Spec` knows
how to start a channel's emulator (with faults, wrong credentials, a callback
URL) and build the real client against it; what a channel cannot do (no
credentials, no receipts) is ``None`` in the table, and the tests skip it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from channels import aliyun_sms, tencent_sms, wechat
from channels.base import CallbackBatch, Channel, ChannelKind, Message
from channels.emulators import aliyun_sms as aliyun_emu
from channels.emulators import tencent_sms as tencent_emu
from channels.emulators import wechat as wechat_emu
from channels.emulators import wecom as wecom_emu
from channels.emulators.accounts import SmsAccount, sms_account, wechat_account
from channels.emulators.common import Faults
from channels.ratelimit import MemoryRateLimiter
from channels.sandbox import SandboxChannel, SandboxMessage
from channels.wechat_token import MemoryTokenStore
from channels.wecom import WeComRobotChannel, WeComSettings

SECRET, WRONG, SIGN, CB_TOKEN = "rig-secret", "not-the-secret", "青山镇", "rig-cb-token"
#: The suggested templates (docs/sms-templates): the registry of the rigs' accounts.
SMS_TEMPLATES = Path(__file__).resolve().parents[2] / "docs" / "sms-templates"


def _template_account(provider: str, file: str) -> SmsAccount:
    """The suggested templates as a strict account under the rig's sign: our SMS clients
    send pushes through them, as a real account's approved templates."""
    data = yaml.safe_load((SMS_TEMPLATES / file).read_text(encoding="utf-8"))
    return sms_account(provider, {**data, "sign_names": [SIGN]})


ALIYUN_ACCOUNT = _template_account("aliyun-sms", "aliyun.yaml")
TENCENT_ACCOUNT = _template_account("tencent-sms", "tencent.yaml")
#: The notice template of each template-mode rig, and the limit of its title variable.
NOTICE_TEMPLATES = {"aliyun": ("SMS_480100001", 35), "tencent": ("2100001", 20)}


def templated(provider: str, message: Message) -> Message:
    """``message`` as a push goes to a template account: its text fills the notice
    template's title (the publisher and the short-link code fill the rest)."""
    code, _ = NOTICE_TEMPLATES[provider]
    names = ("org", "title", "code") if provider == "aliyun" else ("1", "2", "3")
    values = (SIGN, message.text, "".join(c for c in message.key.lower() if c.isalnum()))
    return replace(message, params=dict(zip(names, values, strict=True)), template=code)


# An old-style template whose one field has no per-field rule (``keyword``).
WECHAT_ACCOUNT = wechat_account({"templates": {"TPL-rig": {"content": "keyword"}}})


@dataclass
class Rig:
    """A running channel: the client, what its provider received, receipts posted back."""

    channel: Channel
    received: Callable[[], dict[str, list[str]]]
    calls: Callable[[], list[int]]
    receipts: list[CallbackBatch] = field(default_factory=list)


@dataclass(frozen=True)
class Options:
    """How to start the emulator: its faults, the secret our client uses, where receipts go."""

    faults: Faults | None = None
    secret: str = SECRET
    callback_url: str | None = None


Builder = Callable[[aiohttp.ClientSession, "Options", "Servers"], Awaitable[Rig]]
Servers = Callable[[web.Application], Awaitable[str]]
Parser = Callable[[bytes, dict[str, str]], CallbackBatch]


@dataclass(frozen=True)
class Spec:
    """How to run one channel against its emulator, and what to expect of it."""

    name: str
    build: Builder
    recipient: Callable[[int], str]
    bad_recipient: str | None  # refused permanently by the provider (None: nothing is)
    fatal_code: str | None  # what a wrong secret answers (None: no credentials)
    parse_receipt: Parser | None  # None: the provider sends no receipts
    max_content: int | None  # most "通" the provider takes in one text; None: not enforced
    per_call: int  # how many messages one provider call may carry
    #: a template account's form of a message (None: the text goes as it is)
    form: Callable[[Message], Message] | None = None

    def message(self, key: str, recipient: str, text: str) -> Message:
        """A message as this channel's callers make it."""
        plain = Message(key=key, recipient=recipient, text=text)
        return self.form(plain) if self.form is not None else plain


def _faults(options: Options) -> Faults:
    return options.faults or Faults()


async def _wechat(http: aiohttp.ClientSession, o: Options, serve: Servers) -> Rig:
    app = wechat_emu.build_app(
        app_id="wx-rig",
        app_secret=SECRET,
        faults=_faults(o),
        callback_url=o.callback_url,
        callback_token=CB_TOKEN,
        callback_delay=0.01,
        account=WECHAT_ACCOUNT,
    )
    settings = wechat_settings(await serve(app), secret=o.secret)
    state = app[wechat_emu.STATE]
    return Rig(
        _wechat_channel(settings, http),
        lambda: dict(state.inbox.messages),
        lambda: [1] * state.calls["/cgi-bin/message/template/send"],
    )


def wechat_settings(base_url: str, *, secret: str = SECRET) -> wechat.WeChatSettings:
    """Settings of the rig's official account at ``base_url``."""
    return wechat.WeChatSettings(
        app_id="wx-rig",
        app_secret=SecretStr(secret),
        token=SecretStr(CB_TOKEN),
        base_url=base_url,
        template_id="TPL-rig",
    )


def _wechat_channel(settings: wechat.WeChatSettings, http: aiohttp.ClientSession) -> Channel:
    return wechat.WeChatChannel(settings, session=http, tokens=MemoryTokenStore())


def _parse_wechat(body: bytes, query: dict[str, str]) -> CallbackBatch:
    return wechat.parse_callback(body, query=query, settings=wechat_settings("http://x/"))


async def _wecom(http: aiohttp.ClientSession, o: Options, serve: Servers) -> Rig:
    app = wecom_emu.build_app(faults=_faults(o), per_minute=1000)
    base = await serve(app)
    state = app[wecom_emu.WECOM_EMULATOR]
    channel = WeComRobotChannel(
        WeComSettings(base_url=base, rate=1000, msgtype="text"),
        session=http,
        limiter=MemoryRateLimiter(),
    )
    return Rig(channel, lambda: dict(state.inbox.messages), lambda: [1] * state.inbox.total())


def aliyun_settings(base_url: str, *, secret: str = SECRET) -> aliyun_sms.AliyunSmsSettings:
    """Settings of the rig's Aliyun account at ``base_url``."""
    return aliyun_sms.AliyunSmsSettings(
        access_key_id="rig-key",
        access_key_secret=SecretStr(secret),
        sign_name=SIGN,
        template_code="SMS_100",
        base_url=base_url,
        templates_file=str(SMS_TEMPLATES / "aliyun.yaml"),
    )


async def _aliyun(http: aiohttp.ClientSession, o: Options, serve: Servers) -> Rig:
    app = aliyun_emu.build_app(
        access_key_id="rig-key",
        access_key_secret=SECRET,
        faults=_faults(o),
        report_url=o.callback_url,
        report_delay=0.01,
        account=ALIYUN_ACCOUNT,
    )
    state = app[aliyun_emu.STATE]
    channel = aliyun_sms.AliyunSmsChannel(
        aliyun_settings(await serve(app), secret=o.secret), session=http
    )
    return Rig(
        channel,
        lambda: dict(state.inbox.messages),
        lambda: [int(c["numbers"]) for c in state.calls],
    )


def tencent_settings(base_url: str, *, secret: str = SECRET) -> tencent_sms.TencentSmsSettings:
    """Settings of the rig's Tencent SMS app at ``base_url``."""
    return tencent_sms.TencentSmsSettings(
        secret_id="rig-id",
        secret_key=SecretStr(secret),
        sdk_app_id="1400000001",
        sign_name=SIGN,
        template_id="T100",
        base_url=base_url,
        templates_file=str(SMS_TEMPLATES / "tencent.yaml"),
    )


async def _tencent(http: aiohttp.ClientSession, o: Options, serve: Servers) -> Rig:
    app = tencent_emu.build_app(
        secret_id="rig-id",
        secret_key=SECRET,
        faults=_faults(o),
        report_url=o.callback_url,
        report_delay=0.01,
        account=TENCENT_ACCOUNT,
    )
    state = app[tencent_emu.STATE]
    channel = tencent_sms.TencentSmsChannel(
        tencent_settings(await serve(app), secret=o.secret), session=http
    )
    return Rig(
        channel,
        lambda: dict(state.inbox.messages),
        lambda: [int(c["numbers"]) for c in state.calls],
    )


async def _sandbox(http: aiohttp.ClientSession, o: Options, serve: Servers) -> Rig:
    kept: list[SandboxMessage] = []
    calls: list[int] = []

    async def sink(batch: Sequence[SandboxMessage]) -> None:
        kept.extend(batch)
        calls.append(len(batch))

    def received() -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for m in kept:
            out.setdefault(m.recipient, []).append(m.text)
        return out

    return Rig(SandboxChannel(ChannelKind.SMS, sink=sink), received, lambda: list(calls))


def _phone(i: int) -> str:
    return f"139{i:08d}"


#: The rigs of the HTTP providers and the sandbox (CMPP's is in ``cmpp_rig``).
HTTP_SPECS = [
    Spec(
        "wechat",
        _wechat,
        lambda i: f"orig{i:06d}",
        "bad openid!",
        "40125",
        _parse_wechat,
        None,  # the rig's template field is an old-style one; ``thing`` ones hold 20
        1,
    ),
    Spec(
        "wecom",
        _wecom,
        lambda i: f"{i:08d}-0000-4000-8000-000000000000",
        "not-a-robot-key",
        None,
        None,
        2048 // len("通".encode()),  # text messages hold 2048 bytes of UTF-8
        1,
    ),
    Spec(
        "aliyun",
        _aliyun,
        _phone,
        "12345",
        "SignatureDoesNotMatch",
        lambda body, _: aliyun_sms.parse_callback(body, kind="report"),
        NOTICE_TEMPLATES["aliyun"][1],  # the notice template's title variable
        1000,
        partial(templated, "aliyun"),
    ),
    Spec(
        "tencent",
        _tencent,
        _phone,
        "12345",
        "AuthFailure.SignatureFailure",
        lambda body, _: tencent_sms.parse_callback(body, kind="report"),
        NOTICE_TEMPLATES["tencent"][1],  # the notice template's title variable
        200,
        partial(templated, "tencent"),
    ),
    Spec("sandbox", _sandbox, _phone, None, None, None, None, 500),
]


@asynccontextmanager
async def running(spec: Spec, options: Options | None = None) -> AsyncIterator[Rig]:
    """``spec``'s channel against a fresh emulator; receipts land in ``Rig.receipts``."""
    options = options or Options()
    servers: list[TestServer] = []

    async def serve(app: web.Application) -> str:
        server = TestServer(app, host="127.0.0.1", port=0)
        await server.start_server()
        servers.append(server)
        return str(server.make_url("/"))

    batches: list[CallbackBatch] = []
    try:
        if spec.parse_receipt is not None and options.callback_url is None:
            options = Options(options.faults, options.secret, await serve(_receiver(spec, batches)))
        async with aiohttp.ClientSession() as http:
            rig = await spec.build(http, options, serve)
            rig.receipts = batches
            yield rig
            await rig.channel.close()
    finally:
        for server in reversed(servers):
            await server.close()


def _receiver(spec: Spec, batches: list[CallbackBatch]) -> web.Application:
    parse = spec.parse_receipt
    assert parse is not None

    async def handle(request: web.Request) -> web.Response:
        batch = parse(await request.read(), dict(request.query))
        batches.append(batch)
        return web.Response(body=batch.reply, content_type=batch.content_type)

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    return app


def messages(spec: Spec, n: int, *, text: str = "低保复核公示", start: int = 0) -> list[Message]:
    """``n`` messages with distinct keys and recipients, the same text."""
    return [spec.message(f"k{i}", spec.recipient(i), text) for i in range(start, start + n)]


def options(**kwargs: Any) -> Options:
    """Options with a shorthand for faults: ``options(server_error=1.0)``."""
    faults = Faults(**kwargs) if kwargs else None
    return Options(faults=faults)


@contextmanager
def in_thread(app: web.Application) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 from a thread and loop of its own; yields its base URL.

    For the providers' official SDKs, which are synchronous: the test calls them
    directly while the emulator answers from this thread.
    """
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    host, port = runner.addresses[0][:2]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{port}/"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
