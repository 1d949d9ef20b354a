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
from channels.sms_templates import TemplateError, describe, load_registry
from pusher.console.base import STAFF, render, viewer
from pusher.web.keys import RESOURCES


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
    )
