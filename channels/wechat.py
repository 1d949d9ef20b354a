"""WeChat official account: template messages or subscription notices to followers.

HTTP goes through the ``aiohttp`` session passed in; wechatpy (whose client is
synchronous) is used only for what needs no network: callback signatures,
``WeChatCrypto`` for safe mode and ``parse_message``. Sending is one call per
recipient, so a batch is sent concurrently, at most ``max_concurrency`` calls
at a time. Provider answers map to errors by the table ``ERRORS`` below::

    43004 require subscribe, 43101 refused, 40003 bad openid, 47003 bad data,
    unknown codes                                       -> PermanentError
    40013 bad appid, 40125 bad secret, 40164 IP not whitelisted,
    40037 bad template                                  -> FatalError
    a subscription notice without fields (unfilled_fields, ours, no call) -> PermanentError
    -1 system busy, 45009 quota, HTTP 5xx               -> TransientError
    timeouts, dropped links (see channels.http)         -> UnknownOutcome: resent
                                                           under the same client_msg_id
    40001/40014/42001 token refused -> one shared refresh, one retry of that
    call; refused again                                 -> TransientError
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, cast
from xml.etree import ElementTree
from xml.parsers.expat import ExpatError

import aiohttp
import orjson
import pydantic
from aiohttp.payload import BytesPayload
from pydantic import Field, SecretStr
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.events import (
    ClickEvent,
    ScanEvent,
    SubscribeEvent,
    SubscribeMsgSentEvent,
    SubscribeScanEvent,
    TemplateSendJobFinishEvent,
    UnsubscribeEvent,
)
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.messages import TextMessage, VoiceMessage
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature
from yarl import URL

from channels.base import (
    Accepted,
    CallbackBatch,
    Channel,
    ChannelError,
    ChannelKind,
    Inbound,
    Limits,
    Message,
    OptOut,
    Outcome,
    PermanentError,
    Receipt,
    Rejected,
)
from channels.descriptor import Emulator, Provider, Wiring
from channels.errors import FATAL, HTTP, PERMANENT, TRANSIENT, ErrorTable, error_for
from channels.http import HttpSession
from channels.wechat_token import TokenStore, build_token_store

log = logging.getLogger(__name__)

#: What this provider's codes mean (see :mod:`channels.errors`).
UNFILLED = "unfilled_fields"
ERRORS: ErrorTable = {
    "-1": (TRANSIENT, "微信系统繁忙，稍后重试"),
    "45009": (TRANSIENT, "接口调用超过每日限额"),
    "40001": (TRANSIENT, "access_token 无效（刷新后仍被拒，可能有其他系统在抢用令牌）"),
    "40014": (TRANSIENT, "access_token 不合法（刷新后仍被拒）"),
    "42001": (TRANSIENT, "access_token 已过期（刷新后仍被拒）"),
    "40013": (FATAL, "AppID 无效，请检查公众号配置"),
    "40125": (FATAL, "AppSecret 无效，请检查公众号配置"),
    "40164": (FATAL, "调用接口的 IP 不在公众号白名单中"),
    "40002": (FATAL, "grant_type 不合法"),
    "40037": (FATAL, "模板 ID 无效，请检查模板配置"),
    "48001": (FATAL, "公众号未获得该接口权限"),
    "43004": (PERMANENT, "用户未关注公众号"),
    "43101": (PERMANENT, "用户拒收消息"),
    "40003": (PERMANENT, "OpenID 无效"),
    "47001": (PERMANENT, "请求数据格式错误"),
    "47003": (PERMANENT, "模板参数不合法（字段内容超长或格式不符）"),
    # ours: a subscription notice whose typed fields could not all be filled validly
    UNFILLED: (PERMANENT, "订阅通知字段无法有效填写（未发送）"),
    **HTTP,
}

TOKEN_ERRORS = frozenset({40001, 40014, 42001})
JSON = "application/json; charset=utf-8"


class WeChatSettings(pydantic.BaseModel):
    """Credentials and endpoints of one official account."""

    app_id: str = ""
    app_secret: SecretStr = SecretStr("")
    token: SecretStr = SecretStr("")
    encoding_aes_key: SecretStr | None = None
    base_url: str = "https://api.weixin.qq.com/"
    template_id: str = ""
    #: The text fallback: a template whose one field ``content`` has no type rule, for a
    #: message whose typed fields could not all be filled validly (sent without params);
    #: empty: ``template_id``, which then must take a ``content`` field (else 47003).
    text_template_id: str = ""
    subscribe_template_id: str = ""
    mode: Literal["template", "subscribe"] = "template"
    #: the subscription-notice template is one-time (一次性订阅): each consent allows one
    #: notice, then the follower gets SMS until they consent again; False: long-term (长期)
    subscribe_once: bool = False
    timeout_seconds: float = 10
    # Calls in flight decide throughput against a distant server: about
    # max_concurrency / round-trip time (32 / 30 ms ≈ 1,000 messages/s; 8 ≈ 270).
    # Against a local emulator 32 also costs less CPU per message than 8 (bench_dispatch).
    max_concurrency: int = Field(32, ge=1, le=256)
    #: Template messages a day (100,000 by default; a county with more followers asks
    #: WeChat for a higher quota and sets it here).
    daily_quota: int = Field(100_000, ge=1)

    @property
    def configured(self) -> bool:
        """Whether the account can send (app id and secret are set)."""
        return bool(self.app_id and self.app_secret.get_secret_value())

    def url(self, path: str) -> str:
        """``path`` under ``base_url``."""
        return f"{self.base_url.rstrip('/')}/{path}"


async def fetch_token(session: aiohttp.ClientSession, settings: WeChatSettings) -> tuple[str, int]:
    """Ask ``cgi-bin/token`` for a new access_token; ``(token, expires_in)``."""
    params = {
        "grant_type": "client_credential",
        "appid": settings.app_id,
        "secret": settings.app_secret.get_secret_value(),
    }
    body = await _call(session, "GET", settings.url("cgi-bin/token"), settings, params=params)
    if "access_token" not in body:
        raise _error(body, prefix="token ")
    return str(body["access_token"]), int(body.get("expires_in", 7200))


async def _call(
    session: aiohttp.ClientSession,
    method: str,
    url: str | URL,
    settings: WeChatSettings,
    **kwargs: Any,
) -> dict[str, Any]:
    http = HttpSession(session, timeout_seconds=settings.timeout_seconds)
    answer = await http.request(method, url, **kwargs)
    return answer.json_object(refuse_4xx=True)


def _code(body: Mapping[str, Any], default: int = 0) -> int:
    try:
        return int(body.get("errcode", default))
    except (TypeError, ValueError):
        return -1


def classify(code: str, message: str = "") -> ChannelError:
    """The typed error for an errcode (or one of our client-side codes)."""
    return error_for(ERRORS, code, message)


def _error(body: Mapping[str, Any], *, prefix: str = "") -> ChannelError:
    return classify(str(_code(body, -1)), prefix + str(body.get("errmsg", "")))


class WeChatChannel(Channel):
    """Sends template messages (or subscription notices) to followers by openid."""

    kind: ClassVar[ChannelKind] = ChannelKind.WECHAT
    provider: ClassVar[str] = "wechat"
    # One call per recipient, sent concurrently; the default template quota is
    # 100 000 calls a day. ``max_chars`` is the limit of a ``thing`` field. A batch
    # is what dispatch claims and records at once: 500 spreads the fixed cost of
    # a claim and a record (about 15 ms each on SQLite) thin (bench_dispatch).
    limits: ClassVar[Limits] = Limits(
        batch_size=500,
        rate=100_000,
        per_seconds=86_400,
        rate_unit="message",
        max_chars=20,
        rate_scope="account",
    )

    def __init__(
        self,
        settings: WeChatSettings,
        *,
        session: aiohttp.ClientSession,
        tokens: TokenStore,
    ) -> None:
        self._settings = settings
        self.spends_consent = settings.mode == "subscribe" and settings.subscribe_once
        self._session = session
        self._http = HttpSession(session, timeout_seconds=settings.timeout_seconds)
        self._tokens = tokens
        self._slots = asyncio.Semaphore(settings.max_concurrency)
        self.limits = dataclasses.replace(  # type: ignore[misc]  # the account's own quota
            type(self).limits, rate=settings.daily_quota
        )
        self._refreshing: dict[str, asyncio.Future[str]] = {}
        self._urls: dict[tuple[str, str], URL] = {}

    async def send(self, messages: Sequence[Message]) -> list[Outcome]:
        """Send each message; one outcome per message, in order."""
        try:
            # One token read per batch: a refused secret costs one call, not one each, and
            # a Redis store is asked once per batch, not once per message (a stale token
            # comes back as 40001/42001 and is refreshed once for all).
            token = await self._tokens.get(self._settings.app_id, self._fetch)
        except ChannelError as exc:
            return [Rejected(m.key, exc) for m in messages]
        # max_concurrency senders take the messages in turn: a task each, not a task per
        # message waiting on the semaphore (which still bounds the calls of batches sent
        # at once): 6% less CPU a message (91 -> 86 µs against a trivial sink)
        outcomes: list[Outcome | None] = [None] * len(messages)
        turns = iter(enumerate(messages))

        async def sender() -> None:
            for i, message in turns:
                outcomes[i] = await self._send_one(message, token)

        width = min(self._settings.max_concurrency, len(messages))
        await asyncio.gather(*(sender() for _ in range(width)))  # every slot filled, or raised
        return cast(list[Outcome], outcomes)

    async def _send_one(self, message: Message, token: str) -> Outcome:
        async with self._slots:
            try:
                return Accepted(message.key, await self._deliver(message, token))
            except ChannelError as exc:
                return Rejected(message.key, exc)

    async def _deliver(self, message: Message, token: str) -> str:
        if self._settings.mode == "subscribe" and not message.params:
            # A subscription notice has only typed fields: without them (the pipeline could
            # not fill one validly) the service answers 47003; refused here, it goes by SMS.
            raise PermanentError(UNFILLED, ERRORS[UNFILLED][1])
        path, payload = self._request(message)
        body = await self._post(path, token, payload)
        if _code(body) in TOKEN_ERRORS:
            body = await self._post(path, await self._refreshed(token), payload)
            if _code(body) in TOKEN_ERRORS:
                raise _error(body)  # refused again after a refresh: transient by the table
        if _code(body) != 0:
            raise _error(body)
        # bizsend answers without a msgid; its receipt event carries one.
        return str(body.get("msgid", f"bizsend:{message.key}"))

    async def _refreshed(self, bad: str) -> str:
        """A token other than ``bad``; messages refused together share one refresh."""
        task = self._refreshing.get(bad)
        if task is None:
            task = asyncio.ensure_future(
                self._tokens.refresh(self._settings.app_id, bad, self._fetch)
            )
            self._refreshing[bad] = task
            task.add_done_callback(lambda _: self._refreshing.pop(bad, None))
        return await asyncio.shield(task)

    def _request(self, message: Message) -> tuple[str, dict[str, Any]]:
        data = {k: {"value": v} for k, v in (message.params or {"content": message.text}).items()}
        template_id = self._settings.template_id
        if not message.params and self._settings.text_template_id:
            template_id = self._settings.text_template_id  # the text fallback
        if self._settings.mode == "subscribe":
            payload: dict[str, Any] = {
                "touser": message.recipient,
                "template_id": self._settings.subscribe_template_id,
                "data": data,
            }
            if message.url:
                payload["page"] = message.url
            return "cgi-bin/message/subscribe/bizsend", payload
        payload = {
            "touser": message.recipient,
            "template_id": template_id,
            "data": data,
            "client_msg_id": message.key,
        }
        if message.url:
            payload["url"] = message.url
        return "cgi-bin/message/template/send", payload

    async def _post(self, path: str, token: str, payload: dict[str, Any]) -> dict[str, Any]:
        # A ready Payload spares aiohttp its per-call payload-type lookup; orjson writes the
        # same JSON (UTF-8, no escapes) in 0.2 µs instead of json's 3.9 (every message)
        data = BytesPayload(orjson.dumps(payload), content_type=JSON)
        answer = await self._http.post(self._url(path, token), data=data)
        return answer.json_object(refuse_4xx=True)

    def _url(self, path: str, token: str) -> URL:
        """``path?access_token=token``, built once per token (quoting is costly per call)."""
        url = self._urls.get((path, token))
        if url is None:
            if len(self._urls) > 8:
                self._urls.clear()
            url = URL(self._settings.url(path)).with_query(access_token=token)
            self._urls[(path, token)] = url
        return url

    async def _fetch(self) -> tuple[str, int]:
        return await fetch_token(self._session, self._settings)

    async def call(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST ``payload`` to another API of the account (QR codes, menu, customer-service
        messages) with the shared access token; the answer, or the typed error."""
        token = await self._tokens.get(self._settings.app_id, self._fetch)
        body = await self._post(path, token, payload)
        if _code(body) in TOKEN_ERRORS:
            body = await self._post(path, await self._refreshed(token), payload)
        if _code(body) != 0:
            raise _error(body)
        return body


def _check(query: Mapping[str, str], settings: WeChatSettings) -> None:
    try:
        check_signature(
            settings.token.get_secret_value(),
            query["signature"],
            query["timestamp"],
            query["nonce"],
        )
    except (KeyError, InvalidSignatureException) as exc:
        raise PermanentError("invalid_signature", "callback signature does not match") from exc


def verify_handshake(query: Mapping[str, str], settings: WeChatSettings) -> str:
    """Check the server-URL GET handshake; the ``echostr`` to answer verbatim."""
    _check(query, settings)
    if "echostr" not in query:
        raise PermanentError("missing_echostr", "handshake without echostr")
    return query["echostr"]


def _decrypt(body: bytes, query: Mapping[str, str], settings: WeChatSettings) -> bytes | str:
    aes_key = settings.encoding_aes_key
    if aes_key is None or not aes_key.get_secret_value():
        return body
    if query.get("encrypt_type") != "aes" or "msg_signature" not in query:
        # safe mode: only msg_signature covers the body; a plain one could be forged
        raise PermanentError("invalid_signature", "safe mode: plaintext callback refused")
    crypto = WeChatCrypto(
        settings.token.get_secret_value(), aes_key.get_secret_value(), settings.app_id
    )
    try:
        xml: str = crypto.decrypt_message(
            body, query.get("msg_signature", ""), query["timestamp"], query["nonce"]
        )
    except (InvalidSignatureException, InvalidAppIdException) as exc:
        raise PermanentError("invalid_signature", "encrypted callback refused") from exc
    return xml


# Event fields read as one text each, and the numbers among them with their digit limits.
_TEXT_FIELDS = (
    *("ToUserName", "FromUserName", "MsgType", "Event", "Status", "EventKey", "Ticket"),
    *("Content", "Recognition", "MediaId", "Format"),
)
_NUMBER_FIELDS = {"CreateTime": 10, "MsgID": 20, "MsgId": 20, "ErrorCode": 10}
_LIST_FIELDS = ("MsgID", "ErrorCode", "ErrorStatus", "TemplateId")


def _malformed(why: str) -> PermanentError:
    return PermanentError("bad_callback", f"callback body is not a WeChat event: {why}")


def check_event_xml(xml: bytes | str) -> ElementTree.Element:
    """Refuse event XML wechatpy would misread: a field missing, repeated, nested or not a number.

    wechatpy converts fields lazily (``int(CreateTime)`` on access), so without this a
    ``CreateTime`` of ``abc`` or a nested ``MsgType`` would fail later as a server error.
    Returns the parsed document.
    """
    try:
        root = ElementTree.fromstring(xml)
    except (ElementTree.ParseError, ValueError) as exc:
        raise _malformed("not XML") from exc
    if root.tag != "xml":
        raise _malformed("the root element is not <xml>")
    for name in ("FromUserName", "CreateTime", "MsgType"):
        if not (root.findtext(name) or "").strip():
            raise _malformed(f"{name} is missing")
    _check_fields(root, (*_TEXT_FIELDS, *_NUMBER_FIELDS))
    if (root.findtext("Event") or "").lower() == SubscribeMsgSentEvent.event:
        _check_subscribe_list(root)
    return root


def _check_fields(parent: ElementTree.Element, names: Sequence[str]) -> None:
    for name in names:
        found = parent.findall(name)
        if len(found) > 1 or any(len(element) for element in found):
            raise _malformed(f"{name} is repeated or nested")
        text = (found[0].text or "").strip() if found else ""
        digits = _NUMBER_FIELDS.get(name)
        if digits and found and not (text.isascii() and text.isdigit() and len(text) <= digits):
            raise _malformed(f"{name} is not a number")


def _check_subscribe_list(root: ElementTree.Element) -> None:
    sent = root.findall("SubscribeMsgSentEvent")
    entries = sent[0].findall("List") if len(sent) == 1 else []
    if not entries or len(entries) != len(sent[0]):
        raise _malformed("SubscribeMsgSentEvent has no List")
    for entry in entries:
        if not len(entry):
            raise _malformed("a List entry has no fields")
        _check_fields(entry, _LIST_FIELDS)


def parse_callback(
    body: bytes, *, query: Mapping[str, str], settings: WeChatSettings
) -> CallbackBatch:
    """Check and parse one POSTed event: receipts, opt-outs and the ``success`` reply."""
    _check(query, settings)
    xml = _decrypt(body, query, settings)
    root = check_event_xml(xml)
    batch = CallbackBatch(reply=b"success", content_type="text/plain")
    receipt = _template_receipt(root)
    if receipt is not None:  # nearly every callback of a push: read once, no second parse
        batch.receipts.append(receipt)
        return batch
    try:
        event = parse_message(xml)
    except (ValueError, KeyError, ExpatError) as exc:
        raise PermanentError("bad_callback", "callback body is not a WeChat event") from exc
    at = datetime.fromtimestamp(int(event.time), UTC) if event is not None else None
    if isinstance(event, TemplateSendJobFinishEvent):
        status = str(event.status)
        batch.receipts.append(
            Receipt(str(event.id), status == "success", status, at=at, recipient=event.source)
        )
    elif isinstance(event, SubscribeMsgSentEvent):
        for item in event.subscribes:
            status = str(item.get("ErrorStatus", ""))
            code = str(item.get("ErrorCode", ""))
            delivered = status == "success" and code in ("", "0")
            receipt = Receipt(
                str(item.get("MsgID", "")), delivered, status, at=at, recipient=event.source
            )
            batch.receipts.append(receipt)
    elif isinstance(event, UnsubscribeEvent):
        batch.opt_outs.append(OptOut(recipient=str(event.source), reason="unsubscribe"))
    elif isinstance(event, SubscribeEvent | SubscribeScanEvent):  # followed (again)
        batch.follows.append(str(event.source))
    inbound = _inbound(event, xml)
    if inbound is not None:
        batch.inbound.append(inbound)
    return batch


def _template_receipt(root: ElementTree.Element) -> Receipt | None:
    """The receipt of a template message's ``TEMPLATESENDJOBFINISH`` event, read from the
    checked document as wechatpy reads it (text stripped, ``MsgID`` as a number); None for
    any other event, which wechatpy parses."""
    text = {name: (root.findtext(name) or "").strip() for name in _RECEIPT_FIELDS}
    if text["MsgType"].lower() != "event" or text["Event"].lower() != "templatesendjobfinish":
        return None
    if not text["MsgID"]:
        return None  # wechatpy's reading of a receipt without an id stays the one used
    at = datetime.fromtimestamp(int(text["CreateTime"]), UTC)
    status = text["Status"]
    return Receipt(
        str(int(text["MsgID"])), status == "success", status, at=at,
        recipient=text["FromUserName"],
    )  # fmt: skip


_RECEIPT_FIELDS = ("MsgType", "Event", "MsgID", "CreateTime", "Status", "FromUserName")


def _inbound(event: Any, xml: bytes | str) -> Inbound | None:
    """A QR follow or scan, a text or voice message, a click or a notice consent."""
    sender, account = str(event.source), str(event.target)
    found: tuple[str, Any] | None = None
    if isinstance(event, SubscribeScanEvent | ScanEvent):
        found = ("scene", event.scene_id)
    elif isinstance(event, TextMessage):
        found = ("text", event.content)
    elif isinstance(event, VoiceMessage):
        found = ("voice", event.recognition)
    elif isinstance(event, ClickEvent):
        found = ("click", event.key)
    elif str(getattr(event, "event", "")) == "subscribe_msg_popup_event":
        found = ("consent", _consent(xml))
    if found is None:
        return None
    return Inbound(found[0], sender, str(found[1] or "")[:2000], account)


def _consent(xml: bytes | str) -> str:
    """``accept`` when the follower accepted any notice template in the popup, else ``reject``."""
    root = ElementTree.fromstring(xml)
    statuses = [e.text or "" for e in root.iter("SubscribeStatusString")]
    return "accept" if "accept" in statuses else "reject"


def passive_reply(
    inbound: Inbound, text: str, *, query: Mapping[str, str], settings: WeChatSettings
) -> bytes:
    """The XML answering a message in the callback's own response (encrypted in safe mode)."""
    xml: str = TextReply(source=inbound.account, target=inbound.sender, content=text).render()
    aes_key = settings.encoding_aes_key
    if aes_key is None or not aes_key.get_secret_value():
        return xml.encode()
    crypto = WeChatCrypto(
        settings.token.get_secret_value(), aes_key.get_secret_value(), settings.app_id
    )
    encrypted: str = crypto.encrypt_message(xml, query.get("nonce", ""), query.get("timestamp"))
    return encrypted.encode()


def _build(settings: WeChatSettings, wiring: Wiring) -> WeChatChannel:
    return WeChatChannel(settings, session=wiring.http, tokens=build_token_store(wiring.redis))


PROVIDER = Provider(
    name="wechat",
    kind=ChannelKind.WECHAT,
    title="微信公众号",
    factory=_build,
    cli="wechat",
    section="wechat",
    settings=WeChatSettings,
    required=("app_id", "app_secret"),
    signed_callback=True,
    errors=ERRORS,
    emulator=Emulator(
        "channels.emulators.wechat",
        9001,
        {
            "base_url": "{base_url}",
            "app_id": "wx-emulator",
            "app_secret": "emulator-secret",
            "template_id": "emulator-template",
        },
    ),
)
