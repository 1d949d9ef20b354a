"""JSON API for county sources (``/api/v1/sources``).

Who: an admin configures sources (create, replace); a publisher may list and read them
and fetch one now (a real fetch creates drafts, which is a publisher's work anyway; a
dry run writes nothing). Other roles are refused (403).
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from pusher.db import transaction
from pusher.errors import InvalidInput
from pusher.models import Role, Source
from pusher.sources.config import SourceIn
from pusher.sources.fetch import fetcher_for
from pusher.sources.poll import poll_source
from pusher.sources.records import get_source, save_source, source_json
from pusher.web.auth import require
from pusher.web.keys import RESOURCES, SETTINGS
from pusher.web.params import int_param, json_object

CONFIGURE = (Role.ADMIN,)
USE = (Role.ADMIN, Role.PUBLISHER)


async def list_sources(request: web.Request) -> web.Response:
    await require(request, *USE)
    async with request.app[RESOURCES].db() as session:
        rows = (await session.scalars(select(Source).order_by(Source.id))).all()
    return web.json_response({"sources": [source_json(s) for s in rows]})


async def create_source(request: web.Request) -> web.Response:
    await require(request, *CONFIGURE)
    data = SourceIn.model_validate(await json_object(request))
    async with transaction(request.app[RESOURCES].db) as session:
        source = await save_source(session, data)
    return web.json_response(source_json(source), status=201)


async def get_source_view(request: web.Request) -> web.Response:
    await require(request, *USE)
    async with request.app[RESOURCES].db() as session:
        source = await get_source(session, int_param(request, "source_id"))
    return web.json_response(source_json(source))


async def update_source(request: web.Request) -> web.Response:
    await require(request, *CONFIGURE)
    data = SourceIn.model_validate(await json_object(request))
    async with transaction(request.app[RESOURCES].db) as session:
        source = await get_source(session, int_param(request, "source_id"))
        await save_source(session, data, source)
    return web.json_response(source_json(source))


async def fetch_source(request: web.Request) -> web.Response:
    """Fetch now; ``?dry_run=true`` answers what would be created and writes nothing."""
    await require(request, *USE)
    dry = request.query.get("dry_run", "false")
    if dry not in ("true", "false"):
        raise InvalidInput("dry_run 只能是 true 或 false", field="dry_run")
    resources = request.app[RESOURCES]
    async with resources.db() as session:
        source = await get_source(session, int_param(request, "source_id"))
    report = await poll_source(
        resources.db,
        fetcher_for(resources.http, resources.settings.source_hosts),
        source.id or 0,
        max_body_chars=request.app[SETTINGS].max_body_chars,
        dry_run=dry == "true",
    )
    return web.json_response(report.as_json())
