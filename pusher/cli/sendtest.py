"""``pusher send-test``: one real message with the configured settings, and the answer.

An office runs it after filling in a provider's credentials to see at once
whether the account, signature and template work: the provider's message id,
or the error's class, code and what it means in Chinese; for an SMS provider
also what its account lets us send (template or free text, from its descriptor).
A template account's message fills its notice template (the text as the title),
as pushes do; an account without its templates is reported, not sent to.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import aiohttp

from channels import registry
from channels.base import Accepted, Channel, ChannelKind, Message
from channels.descriptor import SMS_MODE_TITLES, Wiring
from channels.errors import FATAL, PERMANENT, TRANSIENT, error_class
from channels.sms_templates import Registry, TemplateError
from pusher.settings import Settings
from pusher.summary.sms_template import roles
from pusher.summary.wechat import short_notice_fields

ACCEPTED, REFUSED, NOT_CONFIGURED = 0, 1, 2
DEFAULT_TEXT = "政务信息推送测试消息，收到即说明配置正确，无需回复。"

CLASS_NAMES = {
    TRANSIENT: "暂时性错误（稍后重试可能成功）",
    PERMANENT: "永久性错误（该接收方无法通过此渠道收到）",
    FATAL: "配置错误（此渠道将停止发送并保留消息，请先修正配置）",
}


def choices() -> list[str]:
    """The command-line names of the providers a test message can go through."""
    return [p.cli for p in registry.PROVIDERS if p.cli is not None and p.factory is not None]


def build_channel(
    settings: Settings, channel: str, *, http: aiohttp.ClientSession
) -> Channel | None:
    """The real client for ``channel`` (a CLI name), or None when it is not configured."""
    provider = registry.by_cli(channel)
    if provider.section is None or not provider.ready(getattr(settings, provider.section)):
        return None
    wiring = Wiring(http=http, limiter=registry.build_limiter(None))
    return registry.build(provider, settings, wiring)


def probe_message(
    settings: Settings, channel: str, to: str, text: str, *, templates: Registry | None = None
) -> Message:
    """The message sent: WeChat template fields are filled from ``text`` and the time;
    an SMS template account's notice template from ``text`` (its title) and the date."""
    key = f"send-test-{uuid.uuid4().hex[:16]}"
    now = datetime.now(ZoneInfo(settings.quiet_hours.timezone))
    if templates is not None:
        return template_probe(settings, templates, key, to, text, now)
    if registry.by_cli(channel).kind is not ChannelKind.WECHAT:
        return Message(key=key, recipient=to, text=text)
    fields = settings.dispatch.wechat_template_fields
    params = short_notice_fields(fields, [text] * len(fields), now)
    return Message(key=key, recipient=to, text=text, params=params, title="测试消息")


def template_probe(
    settings: Settings, templates: Registry, key: str, to: str, text: str, now: datetime
) -> Message:
    """The account's notice template (else its first) filled for a test message."""
    template = templates.for_purpose("notice") or templates.templates[0]
    sign = settings.sms_signature.strip("【】")
    values = {
        "org": sign,
        "title": text,
        "deadline": f"{now.year}年{now.month}月{now.day}日",
        "time": f"{now.year}年{now.month}月{now.day}日",
        "place": sign,
        "code": "test",
    }
    params = {
        v.name: values.get(role, text)[: v.max_len]
        for v, role in zip(template.variables, roles(template).values(), strict=True)
    }
    return Message(
        key=key,
        recipient=to,
        text=f"【{sign}】{template.fill(params)}",
        params=params,
        template=template.code,
    )


async def send_test(settings: Settings, channel: str, to: str, text: str) -> tuple[int, str]:
    """Send one message over ``channel``; ``(exit code, report)``.

    Exit code 0: the provider accepted it; 1: the provider refused it;
    2: the channel is unknown or not configured.
    """
    if channel not in choices():
        return NOT_CONFIGURED, f"未知渠道 {channel}，可选：{'、'.join(choices())}"
    async with aiohttp.ClientSession() as http:
        try:
            client = build_channel(settings, channel, http=http)
        except TemplateError as exc:  # a template account without (valid) templates
            return NOT_CONFIGURED, str(exc)
        if client is None:
            return NOT_CONFIGURED, registry.by_cli(channel).missing()
        templates = getattr(client, "templates", None)
        probe = probe_message(
            settings,
            channel,
            to,
            text or DEFAULT_TEXT,
            templates=templates if isinstance(templates, Registry) else None,
        )
        try:
            await client.start()
            [outcome] = await client.send([probe])
        finally:
            await client.close()
    mode = sms_mode_line(channel)
    if isinstance(outcome, Accepted):
        return ACCEPTED, "\n".join(
            [f"已受理：{client.provider} 消息编号 {outcome.provider_id}", *mode]
        )
    error = outcome.error
    lines = [
        f"被拒绝：{CLASS_NAMES[error_class(error)]}",
        f"错误码：{error.code}（{registry.describe(client.provider, error.code)}）",
    ]
    if error.message:
        lines.append(f"服务商原文：{error.message}")
    return REFUSED, "\n".join([*lines, *mode])


def sms_mode_line(channel: str) -> list[str]:
    """``短信模式：…`` for an SMS provider (a CLI name), nothing for the other kinds."""
    mode = registry.by_cli(channel).sms_mode
    return [f"短信模式：{SMS_MODE_TITLES[mode]}"] if mode is not None else []
