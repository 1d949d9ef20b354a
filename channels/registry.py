"""One place that decides which channel serves each kind: ``build_channels``.

A kind whose provider is configured gets the real client; a kind with none
configured gets the sandbox, so embedded mode and the demo work with no
accounts at all. For SMS the first configured provider in ``sms_provider``
order wins.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

import aiohttp

from channels.aliyun_sms import AliyunSmsChannel, AliyunSmsSettings
from channels.base import Channel, ChannelKind
from channels.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from channels.sandbox import SandboxChannel, SandboxLookup, SandboxSink
from channels.tencent_sms import TencentSmsChannel, TencentSmsSettings
from channels.wechat import WeChatChannel, WeChatSettings
from channels.wechat_token import MemoryTokenStore, RedisTokenStore, TokenStore
from channels.wecom import WeComRobotChannel, WeComSettings


class ChannelSettings(Protocol):
    """The part of the service's settings the channels read."""

    wechat: WeChatSettings
    wecom: WeComSettings
    aliyun_sms: AliyunSmsSettings
    tencent_sms: TencentSmsSettings
    sms_provider: Literal["aliyun", "tencent"]
    wecom_enabled: bool


def build_limiter(redis: Any | None, *, prefix: str = "pusher:rl:") -> RateLimiter:
    """Shared through Redis when there is one (every worker counts), else in process."""
    return RedisRateLimiter(redis, prefix=prefix) if redis is not None else MemoryRateLimiter()


def build_token_store(redis: Any | None) -> TokenStore:
    return RedisTokenStore(redis, prefix="pusher") if redis is not None else MemoryTokenStore()


def _sms(settings: ChannelSettings, http: aiohttp.ClientSession) -> Channel | None:
    order = ["aliyun", "tencent"] if settings.sms_provider == "aliyun" else ["tencent", "aliyun"]
    for name in order:
        if name == "aliyun" and settings.aliyun_sms.configured:
            return AliyunSmsChannel(settings.aliyun_sms, session=http)
        if name == "tencent" and settings.tencent_sms.configured:
            return TencentSmsChannel(settings.tencent_sms, session=http)
    return None


def build_channels(
    settings: ChannelSettings,
    *,
    http: aiohttp.ClientSession,
    sandbox_sink: SandboxSink,
    sandbox_lookup: SandboxLookup | None = None,
    redis: Any | None = None,
    limiter: RateLimiter | None = None,
) -> dict[ChannelKind, Channel]:
    """A channel for every kind; kinds with no provider configured use the sandbox."""
    limiter = limiter or build_limiter(redis)
    channels: dict[ChannelKind, Channel | None] = {
        ChannelKind.WECHAT: (
            WeChatChannel(settings.wechat, session=http, tokens=build_token_store(redis))
            if settings.wechat.configured
            else None
        ),
        ChannelKind.SMS: _sms(settings, http),
        ChannelKind.WECOM: (
            WeComRobotChannel(settings.wecom, session=http, limiter=limiter)
            if settings.wecom_enabled
            else None
        ),
    }
    return {
        kind: channel or SandboxChannel(kind, sink=sandbox_sink, lookup=sandbox_lookup)
        for kind, channel in channels.items()
    }
