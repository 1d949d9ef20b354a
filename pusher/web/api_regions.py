"""JSON API for the town's regions (``/api/v1/regions``).

Who: every signed-in role reads regions (a grid worker only their own and what lies
under them); only an admin creates, imports, renames, moves and retires them. A region
with residents or history is deactivated with the reason, never deleted.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from pusher.audit import record
from pusher.db import transaction
from pusher.errors import InvalidInput
from pusher.models import Region, RegionKind, Role
from pusher.town.region_import import import_regions
from pusher.town.regions import (
    create_region,
    get_region,
    move_region,
    region_json,
    rename_region,
    retire_region,
)
from pusher.town.schemas import RegionBody, RegionChange, RegionImport, Retire
from pusher.web.auth import caller, refuse
from pusher.web.keys import RESOURCES
from pusher.web.params import int_param, json_object, page

READ = (Role.PUBLISHER, Role.REVIEWER, Role.LEADER, Role.GRID_WORKER)
WRITE = (Role.ADMIN,)


async def list_regions(request: web.Request) -> web.Response:
    me = await caller(request, *READ)
    limit, offset = page(request, max_limit=5000)
    query = select(Region).order_by(Region.path).limit(limit).offset(offset)
    if me.scope is not None:
        query = query.where(Region.id.in_(me.scope))
    if (kind := request.query.get("kind")) is not None:
        if kind not in set(RegionKind):
            raise InvalidInput("kind 应为 county、town、village 或 grid", field="kind")
        query = query.where(Region.kind == kind)
    async with request.app[RESOURCES].db() as session:
        rows = (await session.scalars(query)).all()
    return web.json_response({"regions": [region_json(r) for r in rows]})


async def get_region_view(request: web.Request) -> web.Response:
    me = await caller(request, *READ)
    async with request.app[RESOURCES].db() as session:
        region = await get_region(session, int_param(request, "region_id"))
    if not me.sees(region.id):
        await refuse(request, me, target=f"region:{region.id}")
    return web.json_response(region_json(region))


async def create_region_view(request: web.Request) -> web.Response:
    me = await caller(request, *WRITE)
    body = RegionBody.model_validate(await json_object(request))
    async with transaction(request.app[RESOURCES].db) as session:
        region = await create_region(session, body.to_input())
        record(session, actor=me.user.username, action="region.create", target=region.code)
    return web.json_response(region_json(region), status=201)


async def update_region(request: web.Request) -> web.Response:
    me = await caller(request, *WRITE)
    body = RegionChange.model_validate(await json_object(request))
    async with transaction(request.app[RESOURCES].db) as session:
        region = await get_region(session, int_param(request, "region_id"))
        before = {"name": region.name, "path": region.path}
        if body.name is not None:
            await rename_region(session, region, body.name)
        if body.parent_code is not None:
            await move_region(session, region, body.parent_code)
        after = {"name": region.name, "path": region.path}
        record(
            session, actor=me.user.username, action="region.update", target=region.code,
            detail={"before": before, "after": after},
        )  # fmt: skip
    return web.json_response(region_json(region))


async def retire_region_view(request: web.Request) -> web.Response:
    """Delete an unused region; deactivate one with residents or history (reason needed)."""
    me = await caller(request, *WRITE)
    body = Retire.model_validate(await json_object(request))
    async with transaction(request.app[RESOURCES].db) as session:
        region = await get_region(session, int_param(request, "region_id"))
        outcome = await retire_region(session, region, body.reason)
        record(
            session, actor=me.user.username, action=f"region.{outcome}", target=region.code,
            detail={"reason": body.reason},
        )  # fmt: skip
    return web.json_response({"id": region.id, "outcome": outcome})


async def import_regions_view(request: web.Request) -> web.Response:
    """The spreadsheet's rows as JSON: 200 with the report when written, 422 with it when
    any row is bad (then nothing is written)."""
    me = await caller(request, *WRITE)
    body = RegionImport.model_validate(await json_object(request))
    async with transaction(request.app[RESOURCES].db) as session:
        report = await import_regions(session, body.as_sheet())
        if report.ok:
            record(
                session, actor=me.user.username, action="region.import",
                detail={"created": report.created, "renamed": report.renamed},
            )  # fmt: skip
    status = 200 if report.ok else 422
    answer = report.as_json() | {"ok": report.ok}
    if not report.ok:
        answer["error"] = f"有 {len(report.errors)} 行有误，未导入任何区域"
    return web.json_response(answer, status=status)
