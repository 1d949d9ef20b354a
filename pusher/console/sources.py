"""County sources in the console: the list, one source's page (last fetch, error, items
found, its drafts), "fetch now" with a dry-run preview, and the admin's form.

Who: admins configure (new, save); publishers see the pages and may fetch now (a dry
run writes nothing; a real fetch makes drafts for review, as a publisher would).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy import select

from pusher.console.base import Viewer, render, viewer
from pusher.db import transaction
from pusher.models import Item, Region, Role, Source
from pusher.sources.config import Kind, SourceIn
from pusher.sources.fetch import fetcher_for
from pusher.sources.poll import poll_source
from pusher.sources.records import get_source, save_source
from pusher.web.keys import RESOURCES, SETTINGS
from pusher.web.params import int_param
from rules.model import DOMAINS

USE = (Role.ADMIN, Role.PUBLISHER)


async def sources_list(request: web.Request) -> web.Response:
    me = await viewer(request, *USE)
    async with request.app[RESOURCES].db() as db:
        rows = (await db.scalars(select(Source).order_by(Source.id))).all()
    return await render(request, "sources.html", me, sources=rows)


async def _page(
    request: web.Request, me: Viewer, source: Source | None, **extra: Any
) -> web.Response:
    async with request.app[RESOURCES].db() as db:
        regions = (await db.scalars(select(Region).order_by(Region.path).limit(500))).all()
        items: Sequence[Item] = []
        if source is not None:
            items = (await db.scalars(
                select(Item).where(Item.source_id == source.id).order_by(Item.id.desc()).limit(50)
            )).all()  # fmt: skip
        code = next((r.code for r in regions if source and r.id == source.region_id), "")
    return await render(
        request, "source.html", me, source=source, items=items, regions=regions,
        region_code=code, kinds=list(Kind), domains=DOMAINS,
        **({"error": "", "report": None, "dry_run": False} | extra),
    )  # fmt: skip


async def source_new(request: web.Request) -> web.Response:
    me = await viewer(request, Role.ADMIN)
    return await _page(request, me, None)


async def source_page(request: web.Request) -> web.Response:
    me = await viewer(request, *USE)
    async with request.app[RESOURCES].db() as db:
        source = await get_source(db, int_param(request, "source_id"))
    return await _page(request, me, source)


def _form(form: Any) -> dict[str, Any]:
    config = {k: form.get(k) for k in ("item_selector", "body_selector", "title_selector")}
    config = {k: v for k, v in config.items() if v} | {"max_pages": form.get("max_pages") or 3}
    return {
        "name": form.get("name", ""), "kind": form.get("kind", ""), "url": form.get("url", ""),
        "region_code": form.get("region_code", ""), "domain": form.get("domain") or None,
        "interval_minutes": form.get("interval_minutes") or 30,
        "enabled": form.get("enabled") == "on",
        "config": config,
    }  # fmt: skip


async def source_save(request: web.Request) -> web.Response:
    """Create (``/sources/new``) or save (``/sources/{id}``); errors back on the form (422)."""
    me = await viewer(request, Role.ADMIN)
    source_id = request.match_info.get("source_id")
    form = await request.post()
    async with transaction(request.app[RESOURCES].db) as db:
        source = await get_source(db, int(source_id)) if source_id else None
        try:
            source = await save_source(db, SourceIn.model_validate(_form(form)), source)
        except ValidationError as exc:
            errors = "；".join(f"{'.'.join(map(str, e['loc']))}：{e['msg']}" for e in exc.errors())
            return await _page(request, me, source, error=errors, status=422)
    raise web.HTTPFound(f"/sources/{source.id}")


async def source_fetch(request: web.Request) -> web.Response:
    """Fetch now; with ``dry_run`` the page shows what would be created."""
    me = await viewer(request, *USE)
    form = await request.post()
    resources = request.app[RESOURCES]
    async with resources.db() as db:
        source = await get_source(db, int_param(request, "source_id"))
    report = await poll_source(
        resources.db, fetcher_for(resources.http, resources.settings.source_hosts), source.id or 0,
        max_body_chars=request.app[SETTINGS].max_body_chars, dry_run=form.get("dry_run") == "1",
    )  # fmt: skip
    async with resources.db() as db:
        source = await get_source(db, source.id or 0)
    return await _page(request, me, source, report=report, dry_run=form.get("dry_run") == "1")
