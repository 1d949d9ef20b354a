"""``pusher send-test``: one real message with the configured settings, and the answer.

An office runs it after filling in a provider's credentials to see at once
whether the account, signature and template work: the provider's message id,
or the error's class, code and what it means in Chinese.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import aiohttp

from channels.aliyun_sms import AliyunSmsChannel
from channels.base import Accepted, Channel, Message
from channels.errors import FATAL, PERMANENT, TRANSIENT, describe, error_class
from channels.registry import build_limiter, build_token_store
from channels.tencent_sms import TencentSmsChannel
from channels.wechat import WeChatChannel
from channels.wecom import WeComRobotChannel
from pusher.settings import Settings

CHANNELS = ("wechat", "wecom", "aliyun-sms", "tencent-sms")
ACCEPTED, REFUSED, NOT_CONFIGURED = 0, 1, 2
DEFAULT_TEXT = "政务信息推送测试消息，收到即说明配置正确，无需回复。"

CLASS_NAMES = {
    TRANSIENT: "暂时性错误（稍后重试可能成功）",
    PERMANENT: "永久性错误（该接收方无法通过此渠道收到）",
    FATAL: "配置错误（此渠道将停止发送并保留消息，请先修正配置）",
}
MISSING = {
    "wechat": "微信公众号未配置：请设置 PUSHER_WECHAT__APP_ID 和 PUSHER_WECHAT__APP_SECRET",
    "aliyun-sms": (
        "阿里云短信未配置：请设置 PUSHER_ALIYUN_SMS__ACCESS_KEY_ID、"
        "PUSHER_ALIYUN_SMS__ACCESS_KEY_SECRET、PUSHER_ALIYUN_SMS__SIGN_NAME、"
        "PUSHER_ALIYUN_SMS__TEMPLATE_CODE"
    ),
    "tencent-sms": (
        "腾讯云短信未配置：请设置 PUSHER_TENCENT_SMS__SECRET_ID、PUSHER_TENCENT_SMS__SECRET_KEY、"
        "PUSHER_TENCENT_SMS__SDK_APP_ID、PUSHER_TENCENT_SMS__SIGN_NAME、"
        "PUSHER_TENCENT_SMS__TEMPLATE_ID"
    ),
}


def build_channel(
    settings: Settings, channel: str, *, http: aiohttp.ClientSession
) -> Channel | None:
    """The real client for ``channel`` (a CLI name), or None when it is not configured."""
    if channel == "wechat" and settings.wechat.configured:
        return WeChatChannel(settings.wechat, session=http, tokens=build_token_store(None))
    if channel == "wecom":  # a robot's webhook key is its only credential: it is ``--to``
        return WeComRobotChannel(settings.wecom, session=http, limiter=build_limiter(None))
    if channel == "aliyun-sms" and settings.aliyun_sms.configured:
        return AliyunSmsChannel(settings.aliyun_sms, session=http)
    if channel == "tencent-sms" and settings.tencent_sms.configured:
        return TencentSmsChannel(settings.tencent_sms, session=http)
    return None


def probe_message(settings: Settings, channel: str, to: str, text: str) -> Message:
    """The message sent: WeChat template fields are filled from ``text`` and the time."""
    key = f"send-test-{uuid.uuid4().hex[:16]}"
    if channel != "wechat":
        return Message(key=key, recipient=to, text=text)
    now = datetime.now(ZoneInfo(settings.quiet_hours.timezone))
    params = {
        name: now.strftime("%Y年%m月%d日 %H:%M") if kind == "time" else text[:20]
        for name, kind in settings.dispatch.wechat_template_fields.items()
    }
    return Message(key=key, recipient=to, text=text, params=params, title="测试消息")


async def send_test(settings: Settings, channel: str, to: str, text: str) -> tuple[int, str]:
    """Send one message over ``channel``; ``(exit code, report)``.

    Exit code 0: the provider accepted it; 1: the provider refused it;
    2: the channel is unknown or not configured.
    """
    if channel not in CHANNELS:
        return NOT_CONFIGURED, f"未知渠道 {channel}，可选：{'、'.join(CHANNELS)}"
    async with aiohttp.ClientSession() as http:
        client = build_channel(settings, channel, http=http)
        if client is None:
            return NOT_CONFIGURED, MISSING[channel]
        try:
            [outcome] = await client.send(
                [probe_message(settings, channel, to, text or DEFAULT_TEXT)]
            )
        finally:
            await client.close()
    if isinstance(outcome, Accepted):
        return ACCEPTED, f"已受理：{client.provider} 消息编号 {outcome.provider_id}"
    error = outcome.error
    lines = [
        f"被拒绝：{CLASS_NAMES[error_class(error)]}",
        f"错误码：{error.code}（{describe(client.provider, error.code)}）",
    ]
    if error.message:
        lines.append(f"服务商原文：{error.message}")
    return REFUSED, "\n".join(lines)
