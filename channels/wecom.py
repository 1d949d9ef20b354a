"""WeCom (企业微信) group robots: one webhook per village group chat.

``Message.recipient`` is the robot's webhook key (a bare key, or the whole webhook
URL as staff often paste it). The key is the robot's only credential, so it never
appears in logs, errors or Redis key names: a short hash of it stands in.

Robots return no message id and have no status query, so the provider id is
``{key hash}:{Message.key}`` and :meth:`Channel.lookup` cannot help: a call that
timed out may have been delivered.

Errcodes (``errcode`` decides, never ``errmsg``) map by the table
``ERRORS`` below: ``-1`` busy and ``45009``/``45033`` frequency limits are
transient; ``93000`` invalid webhook (bad or removed key), ``93004`` robot disabled,
``93008`` robot no longer in the chat, ``40058`` content too long, ``40008`` bad
msgtype and every other code are permanent. A robot key is one group chat's, so a
dead key fails that chat only, never the channel. HTTP 5xx, 429 and refused
connections are transient; a timeout or a dropped link is an unknown outcome
(:mod:`channels.http`), which dispatch can only resend: robots neither de-duplicate
nor answer queries, so such a message may reach the group chat twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import ClassVar, Literal
from urllib.parse import parse_qs, urlsplit

import aiohttp
from pydantic import BaseModel, Field

from channels.base import (
    Accepted,
    Channel,
    ChannelError,
    ChannelKind,
    Limits,
    Message,
    Outcome,
    PermanentError,
    Rejected,
    TransientError,
)
from channels.descriptor import Emulator, Provider, Wiring
from channels.errors import HTTP, PERMANENT, TRANSIENT, ErrorTable, error_for
from channels.http import HttpSession
from channels.ratelimit import RateLimiter

log = logging.getLogger(__name__)

#: What this provider's codes mean (see :mod:`channels.errors`).
ERRORS: ErrorTable = {
    "-1": (TRANSIENT, "企业微信系统繁忙，稍后重试"),
    "45009": (TRANSIENT, "机器人发送过于频繁（每分钟 20 条）"),
    "45033": (TRANSIENT, "接口并发调用超过限制"),
    "rate_limited": (TRANSIENT, "机器人限速排队过久，稍后重试"),
    # A robot key belongs to one group chat: a dead key fails that chat, not the channel.
    "93000": (PERMANENT, "机器人 webhook 地址无效（密钥错误或机器人已删除）"),
    "93004": (PERMANENT, "机器人已被停用"),
    "93008": (PERMANENT, "机器人已不在该群聊中"),
    "40058": (PERMANENT, "消息内容超长"),
    "40008": (PERMANENT, "消息类型不合法"),
    "44004": (PERMANENT, "消息内容为空"),
    "invalid_recipient": (PERMANENT, "未填写机器人 webhook 密钥"),
    "content_too_long": (PERMANENT, "消息内容超过字节上限"),
    **HTTP,
}

#: Byte limits of ``content`` (UTF-8) per msgtype.
CONTENT_LIMITS: dict[str, int] = {"markdown": 4096, "text": 2048}


class WeComSettings(BaseModel):
    """How to reach the robots and how fast one robot may be fed.

    ``rate`` per ``window_seconds`` is the provider's promise (20/min);
    ``window_margin_seconds`` widens our window so network jitter between our
    grant and the provider's arrival never makes 21 land in its minute.
    A message whose rate wait would exceed ``max_rate_wait_seconds`` is refused
    as transient (``rate_limited``) for the worker to reschedule.
    """

    base_url: str = "https://qyapi.weixin.qq.com/"
    timeout_seconds: float = 10
    msgtype: Literal["markdown", "text"] = "markdown"
    rate: int = Field(default=20, ge=1)
    window_seconds: float = Field(default=60.0, gt=0)
    window_margin_seconds: float = Field(default=1.0, ge=0)
    max_rate_wait_seconds: float = Field(default=90.0, ge=0)
    concurrency: int = Field(default=16, ge=1)


def robot_key(recipient: str) -> str:
    """The webhook key in ``recipient``: a bare key or a full webhook URL."""
    recipient = recipient.strip()
    if recipient.startswith(("http://", "https://")):
        return parse_qs(urlsplit(recipient).query).get("key", [""])[0]
    return recipient


def key_hash(key: str) -> str:
    """A short, stable stand-in for a webhook key in logs and ids."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def classify(errcode: int | str, errmsg: str = "") -> ChannelError:
    """The typed error for a robot's non-zero ``errcode`` (or a client-side code)."""
    return error_for(ERRORS, str(errcode), errmsg)


class WeComRobotChannel(Channel):
    """Posts messages to village group chats through their robots' webhooks."""

    kind: ClassVar[ChannelKind] = ChannelKind.WECOM
    provider: ClassVar[str] = "wecom"
    receipts: ClassVar[bool] = False  # a robot's "ok" is the message in the group chat
    limits: ClassVar[Limits] = Limits(
        batch_size=100,
        rate=20,
        per_seconds=60.0,
        rate_unit="message",
        max_bytes=CONTENT_LIMITS["markdown"],
        rate_scope="robot",
    )

    def __init__(
        self, settings: WeComSettings, *, session: aiohttp.ClientSession, limiter: RateLimiter
    ) -> None:
        self._settings = settings
        self._http = HttpSession(session, timeout_seconds=settings.timeout_seconds)
        self._limiter = limiter
        self._url = settings.base_url.rstrip("/") + "/cgi-bin/webhook/send"
        self._max_bytes = CONTENT_LIMITS[settings.msgtype]
        self._rate = settings.rate
        self._per_seconds = settings.window_seconds + settings.window_margin_seconds
        self.limits = dataclasses.replace(  # type: ignore[misc]  # limits follow the settings
            type(self).limits,
            rate=settings.rate,
            per_seconds=settings.window_seconds,
            max_bytes=self._max_bytes,
        )

    async def send(self, messages: Sequence[Message]) -> list[Outcome]:
        """Send each message to its robot; robots in parallel, one robot's in order."""
        outcomes: list[Outcome | None] = [None] * len(messages)
        by_robot: defaultdict[str, list[int]] = defaultdict(list)
        for index, message in enumerate(messages):
            by_robot[robot_key(message.recipient)].append(index)
        slots = asyncio.Semaphore(self._settings.concurrency)

        async def feed(key: str, indexes: list[int]) -> None:
            # A robot keeps its slot while it waits for its rate: the token is
            # used the moment it is granted, which keeps the provider's count
            # close to ours.
            async with slots:
                for index in indexes:
                    outcomes[index] = await self._send_one(key, messages[index])

        try:
            async with asyncio.TaskGroup() as group:
                for key, indexes in by_robot.items():
                    group.create_task(feed(key, indexes))
        except ExceptionGroup as failed:  # a limiter failure, not a provider's answer
            raise failed.exceptions[0] from failed
        return [outcome for outcome in outcomes if outcome is not None]

    async def _send_one(self, key: str, message: Message) -> Outcome:
        robot = key_hash(key)
        try:
            self._check(key, message)
            await self._pace(robot)
            await self._post(key, message.text)
        except ChannelError as error:
            log.info("wecom robot %s refused %s: %s", robot, message.key, error.code)
            return Rejected(message.key, error)
        return Accepted(message.key, f"{robot}:{message.key}")

    def _check(self, key: str, message: Message) -> None:
        if not key:
            raise PermanentError("invalid_recipient", "no robot webhook key")
        size = len(message.text.encode())
        if size > self._max_bytes:
            raise PermanentError("content_too_long", f"{size} bytes > {self._max_bytes}")

    async def _pace(self, robot: str) -> None:
        bucket, rate, per = f"wecom:{robot}", self._rate, self._per_seconds
        wait = await self._limiter.try_acquire(bucket, rate=rate, per_seconds=per)
        if wait > self._settings.max_rate_wait_seconds:
            raise TransientError("rate_limited", f"robot busy for {wait:.1f} s")
        if wait > 0:
            await self._limiter.acquire(bucket, rate=rate, per_seconds=per)

    async def _post(self, key: str, text: str) -> None:
        msgtype = self._settings.msgtype
        body = {"msgtype": msgtype, msgtype: {"content": text}}
        answer = await self._http.post(self._url, params={"key": key}, json=body)
        payload = answer.json_object(refuse_4xx=True)
        errcode = int(payload.get("errcode", -1))
        if errcode != 0:
            raise classify(errcode, str(payload.get("errmsg", "")))


def _build(settings: WeComSettings, wiring: Wiring) -> WeComRobotChannel:
    return WeComRobotChannel(settings, session=wiring.http, limiter=wiring.limiter)


PROVIDER = Provider(
    name="wecom",
    kind=ChannelKind.WECOM,
    title="企业微信群机器人",
    factory=_build,
    cli="wecom",
    section="wecom",
    settings=WeComSettings,
    switch="wecom_enabled",  # a robot's webhook key, its only credential, is the recipient
    errors=ERRORS,
    emulator=Emulator("channels.emulators.wecom", 9002, {"base_url": "{base_url}"}),
)
