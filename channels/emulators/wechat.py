"""A local WeChat official-account API that speaks the real wire protocol.

It issues access tokens (``cgi-bin/token``), checks the token on every call
(unknown → 40001, expired → 42001), sends template messages and subscription
notices to its followers (43004 for others, 43101 for those who refused),
checks every data field against its type's rule (47003, see
:mod:`channels.emulators.variables`) and, with an account
(:class:`~channels.emulators.accounts.WeChatAccount`), the template id (40037)
and its declared fields, de-duplicates template messages by ``client_msg_id``,
and after a short delay
POSTs signed ``TEMPLATESENDJOBFINISH`` / ``subscribe_msg_sent_event`` XML to the
callback URL. Its state (inbox, tokens, calls) is under :data:`STATE` for tests.

Events wait in a queue that a fixed number of posters work through (one HTTP
connection each), as a provider pushes events from a queue: a callback URL slower
than the sending leaves a queue of small entries, not a task and a request each
(at county scale, 350,000 waiting requests took the emulator's whole CPU).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import re
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from channels.emulators.accounts import WeChatAccount
from channels.emulators.common import Faults, Inbox, fault_middleware, inbox_view
from channels.emulators.options import EmulatorOptions
from channels.emulators.wechat_users import Followers, add_routes

FAILURES = ("failed:user block", "failed: system failed")
_OPENID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass
class TokenInfo:
    """One issued access token and how much it has been used."""

    issued_at: float
    expires_at: float
    calls: int = 0
    expired: bool = False


@dataclass
class Sent:
    """One message the emulator accepted."""

    msgid: int
    openid: str
    template_id: str
    text: str
    at: float


@dataclass
class WeChatEmulatorState:
    """Everything tests read: who got what, which tokens and calls were seen."""

    app_id: str
    app_secret: str
    faults: Faults
    callback_url: str | None
    callback_token: str
    account: WeChatAccount
    token_ttl: int = 7200
    dedup_seconds: float = 600.0
    callback_delay: float = 0.05
    reject_all_tokens: bool = False
    #: subscription notices go only to followers who accepted them (43101 otherwise)
    notice_consent: bool = False
    #: each consent allows one notice (一次性订阅): a second send is refused (43101)
    notice_once: bool = False
    inbox: Inbox = field(default_factory=Inbox)
    tokens: dict[str, TokenInfo] = field(default_factory=dict)
    token_calls: int = 0
    calls: Counter[str] = field(default_factory=Counter)
    sent: dict[int, Sent] = field(default_factory=dict)
    dedup: dict[tuple[str, str], tuple[int, float]] = field(default_factory=dict)
    callbacks: list[tuple[int, str]] = field(default_factory=list)
    callback_errors: int = 0
    msgids: itertools.count[int] = field(default_factory=lambda: itertools.count(200_000_001))
    #: events to post: (when due, monotonic clock; msgid; how to render it)
    events: asyncio.Queue[tuple[float, int, Render]] = field(default_factory=asyncio.Queue)
    posters: list[asyncio.Task[None]] = field(default_factory=list)
    http: aiohttp.ClientSession | None = None
    #: QR tickets, OAuth codes, menus and customer-service windows (wechat_users)
    users: Followers = field(default_factory=Followers)

    async def drain(self) -> None:
        """Wait until every event owed has been posted (or given up on)."""
        await self.events.join()


STATE = web.AppKey("wechat_emulator_state", WeChatEmulatorState)
Render = Callable[[WeChatEmulatorState, Sent], str]


def _errcode(code: int, msg: str) -> web.Response:
    rid = secrets.token_hex(4)
    return web.json_response({"errcode": code, "errmsg": f"{msg} rid: {rid}"})


def sign(token: str, timestamp: str, nonce: str) -> str:
    """The ``signature`` query value WeChat puts on callbacks."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


async def issue_token(request: web.Request) -> web.Response:
    """GET cgi-bin/token?grant_type=client_credential&appid=…&secret=…"""
    state = request.app[STATE]
    state.token_calls += 1
    query = request.query
    if query.get("grant_type") != "client_credential":
        return _errcode(40002, "invalid grant_type")
    if query.get("appid") != state.app_id:
        return _errcode(40013, "invalid appid")
    if query.get("secret") != state.app_secret:
        return _errcode(40125, "invalid appsecret")
    token = secrets.token_urlsafe(48)
    now = time.time()
    state.tokens[token] = TokenInfo(now, now + state.token_ttl)
    return web.json_response({"access_token": token, "expires_in": state.token_ttl})


def _token_error(state: WeChatEmulatorState, token: str) -> web.Response | None:
    info = state.tokens.get(token)
    if state.reject_all_tokens or info is None:
        return _errcode(40001, "invalid credential, access_token is invalid or not latest")
    limit = state.faults.token_expiry_after
    if info.expired or info.expires_at <= time.time():
        return _errcode(42001, "access_token expired")
    info.calls += 1
    if limit is not None and info.calls >= limit:
        info.expired = True
    return None


async def _read_json(request: web.Request) -> dict[str, Any] | None:
    try:
        body = json.loads(await request.read())
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _recipient_error(
    state: WeChatEmulatorState, body: dict[str, Any], *, empty_ok: bool
) -> web.Response | None:
    openid = body.get("touser")
    if not isinstance(openid, str) or not _OPENID.match(openid):
        return _errcode(40003, "invalid openid")
    template_id = body.get("template_id")
    templates = state.account.templates
    if not template_id or (templates is not None and template_id not in templates):
        return _errcode(40037, "invalid template_id")
    data = body.get("data")
    if not isinstance(data, dict):
        return _errcode(47001, "data format error")
    error = _data_error(state.account, str(template_id), data, empty_ok=empty_ok)
    if error is not None:
        return error
    followers = state.account.followers
    if followers is not None and openid not in followers:
        return _errcode(43004, "require subscribe")
    if openid in state.account.refused:
        return _errcode(43101, "user refuse to accept the msg")
    return None


def _data_error(
    account: WeChatAccount, template_id: str, data: dict[str, Any], *, empty_ok: bool
) -> web.Response | None:
    """47003 for a declared field left out, or a value its type's rule refuses.

    Subscription notices refuse an empty value ("…value is empty"); template
    messages show it blank (``empty_ok``). An assumption: the docs we could
    consult state neither case; check it against the real service. Answers seen
    from the service (WeChat open community threads, 2023-2024): "argument
    invalid! data.phrase16.value invalid" for a value its type refuses (so here
    for one over its length too) and "…data.time14.value is empty" for a
    ``time`` it could not read at all; 47003 is "模板参数不准确，可能为空或者不满足
    规则，errmsg会提示具体是哪个字段出错" (subscribeMessage.send).
    """
    template = (account.templates or {}).get(template_id)
    for key in template.fields if template is not None else ():
        if not isinstance(data.get(key), dict):
            return _errcode(47003, f"argument invalid! data.{key}.value is empty")
    for key, item in data.items():
        if not isinstance(item, dict) or not isinstance(item.get("value", ""), str):
            return _errcode(47001, "data format error")
        kind = account.field_kind(template_id, str(key))
        value = str(item.get("value", ""))
        if not value and not empty_ok:
            return _errcode(47003, f"argument invalid! data.{key}.value is empty")
        if kind is None or not value:
            continue
        if (kind.max_len is not None and len(value) > kind.max_len) or not kind.check(value):
            return _errcode(47003, f"argument invalid! data.{key}.value invalid")
    return None


async def _checked(request: web.Request) -> tuple[dict[str, Any] | None, web.Response | None]:
    """The request body if token, quota and recipient pass; else the error answer."""
    state = request.app[STATE]
    state.calls[request.path] += 1
    error = _token_error(state, request.query.get("access_token", ""))
    if error is not None:
        return None, error
    if state.faults.roll(state.faults.throttle):
        return None, _errcode(45009, "reach max api daily quota limit")
    body = await _read_json(request)
    if body is None:
        return None, _errcode(47001, "data format error")
    empty_ok = request.path.endswith("/template/send")
    return body, _recipient_error(state, body, empty_ok=empty_ok)


def _text(body: dict[str, Any]) -> str:
    data = body.get("data") or {}
    return " ".join(str(v.get("value", "")) for v in data.values() if isinstance(v, dict))


def _accept(state: WeChatEmulatorState, body: dict[str, Any]) -> int:
    msgid = next(state.msgids)
    sent = Sent(msgid, body["touser"], body["template_id"], _text(body), time.time())
    state.sent[msgid] = sent
    state.inbox.add(sent.openid, sent.text)
    return msgid


async def send_template(request: web.Request) -> web.Response:
    """POST cgi-bin/message/template/send?access_token=…"""
    state = request.app[STATE]
    body, error = await _checked(request)
    if error is not None or body is None:
        return error or _errcode(47001, "data format error")
    client_msg_id = body.get("client_msg_id")
    dedup_key = (body["touser"], str(client_msg_id))
    seen = state.dedup.get(dedup_key) if client_msg_id else None
    if seen is not None and time.time() - seen[1] < state.dedup_seconds:
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": seen[0]})
    msgid = _accept(state, body)
    if client_msg_id:
        state.dedup[dedup_key] = (msgid, time.time())
    _schedule(state, msgid, _template_event)
    return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": msgid})


async def send_subscribe(request: web.Request) -> web.Response:
    """POST cgi-bin/message/subscribe/bizsend?access_token=… (answers without msgid)."""
    state = request.app[STATE]
    body, error = await _checked(request)
    if error is not None or body is None:
        return error or _errcode(47001, "data format error")
    if state.notice_consent and body["touser"] not in state.users.consents:
        return _errcode(43101, "user refuse to accept the msg")
    msgid = _accept(state, body)
    if state.notice_once:
        state.users.consents.discard(body["touser"])  # used up: the next needs a new one
    _schedule(state, msgid, _subscribe_event)
    return web.json_response({"errcode": 0, "errmsg": "ok"})


def _status(state: WeChatEmulatorState) -> str:
    if state.faults.roll(state.faults.receipt_failure):
        return state.faults.rng.choice(FAILURES)
    return "success"


def _template_event(state: WeChatEmulatorState, sent: Sent) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_{state.app_id}]]></ToUserName>"
        f"<FromUserName><![CDATA[{sent.openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>{sent.msgid}</MsgID>"
        f"<Status><![CDATA[{_status(state)}]]></Status></xml>"
    )


def _subscribe_event(state: WeChatEmulatorState, sent: Sent) -> str:
    status = _status(state)
    code = "0" if status == "success" else "43101"
    return (
        f"<xml><ToUserName><![CDATA[gh_{state.app_id}]]></ToUserName>"
        f"<FromUserName><![CDATA[{sent.openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[subscribe_msg_sent_event]]></Event><SubscribeMsgSentEvent><List>"
        f"<TemplateId><![CDATA[{sent.template_id}]]></TemplateId><MsgID>{sent.msgid}</MsgID>"
        f"<ErrorCode>{code}</ErrorCode><ErrorStatus><![CDATA[{status}]]></ErrorStatus>"
        f"</List></SubscribeMsgSentEvent></xml>"
    )


CALLBACK_TRIES = 3
#: Events posted at once (each poster keeps one connection to the callback URL).
POSTERS = 100


def _schedule(state: WeChatEmulatorState, msgid: int, render: Render) -> None:
    if not state.callback_url or state.http is None:
        return
    state.events.put_nowait((time.monotonic() + state.callback_delay, msgid, render))


async def _poster(state: WeChatEmulatorState) -> None:
    while True:
        due, msgid, render = await state.events.get()
        try:
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            await _post_event(state, msgid, render)
        finally:
            state.events.task_done()


async def _post_event(state: WeChatEmulatorState, msgid: int, render: Render) -> None:
    assert state.http is not None and state.callback_url is not None
    xml = render(state, state.sent[msgid])
    timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
    query = {
        "signature": sign(state.callback_token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": state.sent[msgid].openid,
    }
    for attempt in range(CALLBACK_TRIES):  # WeChat retries an event not answered "success"
        try:
            async with state.http.post(state.callback_url, params=query, data=xml.encode()) as resp:
                reply = await resp.text()
            if resp.status == 200:
                state.callbacks.append((msgid, reply))
                return
        except (aiohttp.ClientError, TimeoutError):  # not answered in time: sent again
            pass
        state.callback_errors += 1
        await asyncio.sleep(0.2 * (attempt + 1))


async def _http_ctx(app: web.Application) -> AsyncIterator[None]:
    state = app[STATE]
    state.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=POSTERS))
    state.posters = [asyncio.create_task(_poster(state)) for _ in range(POSTERS)]
    yield
    for task in state.posters:
        task.cancel()
    await asyncio.gather(*state.posters, return_exceptions=True)
    await state.http.close()


def build_app(
    *,
    app_id: str = "wx-emulator",
    app_secret: str = "emulator-secret",
    faults: Faults | None = None,
    callback_url: str | None = None,
    callback_token: str = "",
    followers: set[str] | None = None,
    refused: set[str] | None = None,
    account: WeChatAccount | None = None,
    token_ttl: int = 7200,
    dedup_seconds: float = 600.0,
    callback_delay: float = 0.05,
    reject_all_tokens: bool = False,
    notice_consent: bool = False,
    notice_once: bool = False,
) -> web.Application:
    """The emulator app answering for ``account``.

    Without one, everyone follows (``followers=None``), nobody refuses, any
    template id is taken and fields are checked by the type their key names
    (``thing1`` → thing); ``followers`` and ``refused`` are shorthands for an
    account with only those.

    ``dedup_seconds`` is how long a ``client_msg_id`` is remembered (10 minutes
    per the API doc). ``reject_all_tokens`` answers 40001 to every call, as
    when some other system keeps taking the account's token away. ``notice_consent``:
    subscription notices (bizsend) are refused with 43101 to followers who have not
    accepted them in the subscribe popup (``/emulator/event`` kind ``consent``);
    ``notice_once``: the consents are one-time, each lets one notice through.
    """
    faults = faults or Faults()
    # common.Middleware is narrower than aiohttp 3.14's protocol; the callable fits.
    app = web.Application(middlewares=[fault_middleware(faults)])  # type: ignore[list-item]
    app[STATE] = WeChatEmulatorState(
        app_id=app_id,
        app_secret=app_secret,
        faults=faults,
        callback_url=callback_url,
        callback_token=callback_token,
        account=account
        or WeChatAccount(
            followers=frozenset(followers) if followers is not None else None,
            refused=frozenset(refused or ()),
        ),
        token_ttl=token_ttl,
        dedup_seconds=dedup_seconds,
        callback_delay=callback_delay,
        reject_all_tokens=reject_all_tokens,
        notice_consent=notice_consent,
        notice_once=notice_once,
    )
    app.cleanup_ctx.append(_http_ctx)
    app.router.add_get("/cgi-bin/token", issue_token)
    app.router.add_post("/cgi-bin/message/template/send", send_template)
    app.router.add_post("/cgi-bin/message/subscribe/bizsend", send_subscribe)
    app.router.add_get("/emulator/inbox", inbox_view(lambda a: a[STATE].inbox))
    add_routes(app)
    return app


def from_options(options: EmulatorOptions) -> web.Application:
    """The emulator as ``pusher emulate wechat`` runs it (``ValueError``: bad account file)."""
    account = options.account("wechat")
    if account is not None and not isinstance(account, WeChatAccount):
        raise ValueError("the account file does not describe a wechat account")
    return build_app(
        faults=options.faults(),
        callback_url=options.callback_url,
        callback_token=options.callback_token,
        account=account,
    )
