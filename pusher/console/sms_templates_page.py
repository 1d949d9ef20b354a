"""The 短信模板 page (``/sms-templates``): each SMS account's approved templates, checked.

A template-mode account (Aliyun, Tencent) sends only its registered templates; the
page shows each with its purpose, text, variables and limits, whether it passes the
providers' template rules, and a warning when its fixed link is not this
deployment's short links (``PUBLIC_URL/s/``). A free-text account (CMPP, the
sandbox) needs none, and the page says so.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from channels.base import ChannelKind
from channels.descriptor import SmsMode
from channels.registry import PROVIDERS
from channels.sms_templates import (
    PURPOSE_TITLES,
    PURPOSE_USES,
    PURPOSES,
    TemplateError,
    describe,
    load_registry,
)
from pusher.console.base import STAFF, render, viewer
from pusher.web.keys import RESOURCES

#: The suggested Aliyun texts per purpose (docs/sms-templates/aliyun.yaml; the host is
#: the deployment's public address).
SUGGESTED = {
    "notice": "${org}发布通知：${title}，详见 https://{host}/s/${code}",
    "urgent": "紧急提醒：${title}，请及时防范，详见 https://{host}/s/${code}",
    "deadline": "${org}提醒：${title}，截止时间${deadline}，详见 https://{host}/s/${code}",
    "meeting": "${org}通知：${title}，时间${time}，地点${place}，详见 https://{host}/s/${code}",
    "code": "验证码${code}，用于绑定政务通知，5分钟内有效。如非本人操作请忽略。",
    "staff": "${org}政务信息推送：您有一项${what}待处理，请登录后台办理 https://{host}/${page}",
    "answer": "${org}已回复您的留言，请查看 https://{host}/wx/${page}",
}


def purposes(public_url: str) -> list[dict[str, str]]:
    """Each purpose with what it is for and its suggested (Aliyun) text."""
    host = public_url.split("://", 1)[-1].rstrip("/")
    return [
        {
            "purpose": p,
            "title": PURPOSE_TITLES[p],
            "use": PURPOSE_USES[p],
            "text": SUGGESTED[p].replace("{host}", host),
        }
        for p in PURPOSES
    ]


def accounts(settings: Any, active: str) -> list[dict[str, Any]]:
    """Every template-mode SMS account with its templates or the reason they are refused.
    Reads the templates files: run in a thread."""
    short_base = settings.public_url.rstrip("/") + "/s/"
    found = []
    for p in PROVIDERS:
        if p.kind is not ChannelKind.SMS or p.sms_mode is not SmsMode.TEMPLATE or not p.section:
            continue
        section = getattr(settings, p.section)
        entry: dict[str, Any] = {
            "name": p.name,
            "title": p.title,
            "active": p.name == active,
            "file": section.templates_file,
            "templates": [],
            "error": "",
            "missing": [],
        }
        try:
            registry = load_registry(
                p.name, p.name, file=section.templates_file, inline=section.templates
            )
        except TemplateError as exc:
            entry["error"] = str(exc)
        else:
            if registry is None:
                entry["error"] = "未登记已审核模板（商业短信账户只能发送已审核模板）"
            else:
                entry["templates"] = describe(registry, short_base)
                have = {t.purpose for t in registry.templates}
                entry["missing"] = [PURPOSE_TITLES[p] for p in PURPOSES if p not in have]
        found.append(entry)
    return found


async def sms_templates_page(request: web.Request) -> web.Response:
    me = await viewer(request, *STAFF)
    resources = request.app[RESOURCES]
    channel = resources.channels.get(ChannelKind.SMS)
    active = channel.provider if channel is not None else ""
    listed = await asyncio.to_thread(accounts, resources.settings, active)
    free_text = getattr(channel, "templates", None) is None
    return await render(
        request,
        "sms_templates.html",
        me,
        accounts=listed,
        active=active,
        free_text=free_text,
        short_base=resources.settings.public_url.rstrip("/") + "/s/",
        purposes=purposes(resources.settings.public_url),
    )
