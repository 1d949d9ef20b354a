"""What residents open: the short link ``/s/<code>`` and the item's public page ``/p/<id>``.

Only items that may be pushed (approved, 主动公开) are shown; anything else is a
plain 404, so a guessed code reveals nothing. Each open of a short link is
counted (per item, and per village when the link carries ``?v=<code>``).
"""

from __future__ import annotations

import html

from aiohttp import web

from pusher.db import transaction
from pusher.models import Item, LinkOpen
from pusher.pipeline.review import pushable
from pusher.web.keys import RESOURCES

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"

PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>{title}</title>
<style>body{{font:18px/1.7 system-ui,"Microsoft YaHei","WenQuanYi Micro Hei",sans-serif;
max-width:42rem;margin:0 auto;padding:1rem;color:#222}}h1{{font-size:1.4rem}}
.meta{{color:#666;font-size:.95rem}}p{{white-space:pre-wrap}}</style></head>
<body><h1>{title}</h1><div class="meta">{publisher} · {date}</div>
<p>{body}</p>{source}</body></html>"""


def decode(code: str) -> int | None:
    """The item id in a short code, or None if it is not one."""
    if not code or len(code) > 12 or any(c not in _DIGITS for c in code):
        return None
    return int(code, 36)


async def _visible(request: web.Request, item_id: int | None) -> Item:
    async with request.app[RESOURCES].db() as session:
        item = await session.get(Item, item_id) if item_id is not None else None
    if item is None or not pushable(item):
        raise web.HTTPNotFound(text="该信息不存在或未公开")
    return item


async def short_link(request: web.Request) -> web.StreamResponse:
    item = await _visible(request, decode(request.match_info["code"]))
    village = request.query.get("v", "")[:32] or None
    async with transaction(request.app[RESOURCES].db) as session:
        session.add(LinkOpen(item_id=item.id, region_code=village))
    raise web.HTTPFound(item.source_url or f"/p/{item.id}")


async def item_page(request: web.Request) -> web.Response:
    raw = request.match_info["item_id"]
    item = await _visible(request, int(raw) if raw.isdigit() else None)
    when = item.published_at or item.created_at
    source = (
        f'<p><a href="{html.escape(item.source_url)}">查看原文</a></p>' if item.source_url else ""
    )
    body = PAGE.format(
        title=html.escape(item.title),
        publisher=html.escape(item.publisher),
        date=when.strftime("%Y-%m-%d"),
        body=html.escape(item.body),
        source=source,
    )
    return web.Response(text=body, content_type="text/html")


def setup_public(app: web.Application) -> None:
    app.router.add_get("/s/{code}", short_link)
    app.router.add_get("/p/{item_id}", item_page)
