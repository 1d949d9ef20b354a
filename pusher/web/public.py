"""What residents open: the short link ``/s/<code>`` and the item's public page ``/p/<id>``.

Only items that may be pushed (approved, 主动公开) are shown; anything else is a
plain 404, so a guessed code reveals nothing. Opens of a short link are counted in
one row per item, village (``?v=<code>``), group chat (``?g=<chat id, base36>``) and
day, not a row per request: ``v`` counts only when it names a real region inside the
item's region (else the open counts for the item alone), ``g`` only when it names a
group chat the item's push had a delivery for (else no group), a visitor's repeated
opens count once an hour, and one client address counts at most
``PUSHER_LINK_OPEN_RATE`` opens a minute (see :mod:`pusher.web.open_gate`). The
redirect answers every request whatever the count does, also when counting fails.
"""

from __future__ import annotations

import html
import logging
import re
import secrets
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.db import transaction
from pusher.models import Delivery, Item, LinkOpen, Push, Region
from pusher.pipeline.lifecycle_push import expired
from pusher.pipeline.review import pushable
from pusher.web.catalogue_html import catalogue_html
from pusher.web.clients import client_address
from pusher.web.keys import RESOURCES, SETTINGS
from pusher.web.open_gate import MemoryGate, OpenGate, RedisGate
from pusher.web.params import MAX_ID, parse_id

log = logging.getLogger(__name__)
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_REGION_CODE = re.compile(r"^[0-9A-Za-z]{1,32}$")
_VISITOR = re.compile(r"^[0-9a-f]{32}$")
VISITOR_COOKIE = "pv"
LOCAL = ZoneInfo("Asia/Shanghai")
OPEN_GATE = web.AppKey("open_gate", OpenGate)

PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>{title}</title>
<style>body{{font:18px/1.7 system-ui,"Microsoft YaHei","WenQuanYi Micro Hei",sans-serif;
max-width:42rem;margin:0 auto;padding:1rem;color:#222}}h1{{font-size:1.4rem}}
.meta{{color:#666;font-size:.95rem}}p{{white-space:pre-wrap}}</style></head>
<body><h1>{title}</h1><div class="meta">{publisher} · {date}</div>
<p>{body}</p>{catalogue}{source}</body></html>"""


def decode(code: str) -> int | None:
    """The id in a short code (an item's, a group chat's), or None if it is not one."""
    if not code or len(code) > 12 or any(c not in _DIGITS for c in code):
        return None
    found = int(code, 36)
    return found if found <= MAX_ID else None


async def _visible(request: web.Request, item_id: int | None) -> Item:
    async with request.app[RESOURCES].db() as session:
        item = await session.get(Item, item_id) if item_id is not None else None
    if item is None or not pushable(item):
        raise web.HTTPNotFound(text="该信息不存在或未公开")
    return item


async def short_link(request: web.Request) -> web.StreamResponse:
    item = await _visible(request, decode(request.match_info["code"]))
    visitor = request.cookies.get(VISITOR_COOKIE, "")
    fresh = not _VISITOR.match(visitor)
    if fresh:
        visitor = secrets.token_hex(16)
    try:
        await _count(request, item, visitor)
    except Exception:  # counting is a statistic: the resident still gets the notice
        log.exception("short-link open not counted", extra={"item_id": item.id})
    away = item.source_url if item.withdrawn_at is None else None  # 撤回: our page says so
    found = web.HTTPFound(away or f"/p/{item.id}")
    if fresh:
        found.set_cookie(
            VISITOR_COOKIE, visitor, max_age=365 * 86400, path="/s/", httponly=True, samesite="Lax"
        )
    raise found


async def _count(request: web.Request, item: Item, visitor: str) -> None:
    """Count this open once for its item, village and day, if the gate admits it."""
    db = request.app[RESOURCES].db
    async with db() as session:
        village = await _village(session, item, request.query.get("v", ""))
        group = await _group(session, item, request.query.get("g", ""))
    link = f"{item.id}:{village}:{group}"
    address = client_address(request, request.app[SETTINGS].trusted_proxies)
    if not await request.app[OPEN_GATE].admit(address=address, visitor=visitor, link=link):
        return
    assert item.id is not None
    async with transaction(db) as session:
        await session.execute(_increment(session, item.id, village, group))


async def _village(session: AsyncSession, item: Item, raw: str) -> str:
    """``v`` when it is the code of a region inside the item's region, else ""."""
    if not _REGION_CODE.match(raw):
        return ""
    within = await session.scalar(select(Region.path).where(Region.id == item.region_id))
    path = await session.scalar(select(Region.path).where(Region.code == raw))
    return raw if within and path and path.startswith(within) else ""


async def _group(session: AsyncSession, item: Item, raw: str) -> int:
    """The group chat ``g`` names when the item's push had a delivery for it, else 0."""
    chat_id = decode(raw.lower()) if 0 < len(raw) <= 8 else None
    if not chat_id:
        return 0
    found = await session.scalar(
        select(Delivery.id)
        .join(Push, Push.id == Delivery.push_id)
        .where(Push.item_id == item.id, Delivery.group_chat_id == chat_id)
        .limit(1)
    )
    return chat_id if found is not None else 0


def _increment(session: AsyncSession, item_id: int, village: str, group: int = 0) -> Any:
    """``INSERT … ON CONFLICT DO UPDATE``: the day's counter row, made or incremented."""
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    day = datetime.now(LOCAL).date()
    stmt = dialect.insert(LinkOpen).values(
        item_id=item_id, region_code=village, group_chat_id=group, day=day, opens=1
    )
    return stmt.on_conflict_do_update(
        index_elements=["item_id", "region_code", "group_chat_id", "day"],
        set_={"opens": stmt.table.c.opens + 1},
    )


async def _gate_ctx(app: web.Application) -> AsyncIterator[None]:
    """The gate that decides which opens count: Redis when configured, else in process."""
    settings, redis = app[SETTINGS], app[RESOURCES].redis
    rate = settings.link_open_rate
    prefix = f"{settings.queue_name}:opens"
    app[OPEN_GATE] = (
        RedisGate(redis, rate=rate, prefix=prefix) if redis is not None else MemoryGate(rate=rate)
    )
    yield


async def item_page(request: web.Request) -> web.Response:
    raw = request.match_info["item_id"]
    item = await _visible(request, parse_id(raw))
    if item.withdrawn_at is not None:
        return _withdrawn_page(item)
    when = item.published_at or item.created_at
    source = (
        f'<p><a href="{html.escape(item.source_url)}">查看原文</a></p>' if item.source_url else ""
    )
    body = PAGE.format(
        title=html.escape(item.title),
        publisher=html.escape(item.publisher),
        date=when.strftime("%Y-%m-%d"),
        body=html.escape(item.body),
        catalogue=catalogue_html(item),
        source=source + _expired_note(item),
    )
    return web.Response(text=body, content_type="text/html")


def _withdrawn_page(item: Item) -> web.Response:
    """已撤回, with the date and reason: the text is no longer shown."""
    assert item.withdrawn_at is not None
    when = item.withdrawn_at.astimezone(LOCAL).strftime("%Y-%m-%d")
    body = PAGE.format(
        title=html.escape(item.title),
        publisher=html.escape(item.publisher),
        date=when,
        body=html.escape(f"此信息已于 {when} 撤回。撤回原因：{item.withdraw_reason or ''}"),
        catalogue="",
        source="",
    )
    return web.Response(text=body, content_type="text/html")


def _expired_note(item: Item) -> str:
    if not expired(item, datetime.now(LOCAL)):
        return ""
    assert item.expires_at is not None
    when = item.expires_at.astimezone(LOCAL).strftime("%Y-%m-%d")
    return f'<p class="meta"><strong>此信息已于 {when} 失效。</strong></p>'


def setup_public(app: web.Application) -> None:
    """Register the public routes and the open-counting gate (after the resources)."""
    app.cleanup_ctx.append(_gate_ctx)
    app.router.add_get("/s/{code}", short_link)
    app.router.add_get("/p/{item_id}", item_page)
