"""Residents over the JSON API (``/api/v1/residents``), scoped as the console is.

Admins and grid workers (their own grids only) list, read, create, update and deactivate
residents, and upsert rosters in bulk: ``POST /api/v1/residents/bulk`` takes the rows an
import reads (keyed by the same headers: 姓名, 手机号, 所属网格, …) and answers the
import's report; ``?dry_run=true`` only reports. A resident outside the caller's grids
is refused (403, audited).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Select, func, or_, select

from pusher.db import transaction
from pusher.errors import InvalidInput, NotFound
from pusher.models import Region, Resident, ResidentTag, Role, Subscription, Topic
from pusher.rosters.apply import move_out
from pusher.rosters.report import RosterReport
from pusher.rosters.single import ResidentIn, save_one
from pusher.rosters.upload import upsert
from pusher.web.auth import Caller, caller, refuse
from pusher.web.keys import RESOURCES, SETTINGS
from pusher.web.params import int_param, json_object, page
from subscriptions.importer import MAX_ROWS

KEEP = (Role.GRID_WORKER,)  # admins pass every check
MAX_CELLS = 20


class BulkIn(BaseModel):
    """Roster rows keyed by the import's headers (each value text, as a cell holds it)."""

    model_config = ConfigDict(extra="forbid")
    rows: list[dict[str, str | int | bool | None]] = Field(max_length=MAX_ROWS)


class DeactivateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="迁出", max_length=200)


async def _answer(session: Any, rid: int) -> dict[str, Any]:
    resident = await session.get_one(Resident, rid)
    grid = await session.get_one(Region, resident.region_id)
    tags = await session.scalars(
        select(ResidentTag.tag).where(ResidentTag.resident_id == rid).order_by(ResidentTag.tag)
    )
    topics = await session.scalars(
        select(Topic.name)
        .join(Subscription, Subscription.topic_id == Topic.id)
        .where(Subscription.resident_id == rid, Subscription.opted_out.is_(False))
        .order_by(Topic.id)
    )
    return {
        "id": rid,
        "name": resident.name,
        "phone": resident.phone,
        "grid": grid.code,
        "grid_name": grid.name,
        "key": resident.stable_key,
        "tags": list(tags),
        "topics": list(topics),
        "sms_consent": resident.sms_consent,
        "sms_opt_out": resident.sms_opt_out,
        "wechat": bool(resident.openid and resident.wechat_follows),
        "active": resident.moved_out_at is None,
    }


async def _own(request: web.Request, me: Caller, session: Any) -> int:
    rid = int_param(request, "resident_id")
    region = await session.scalar(select(Resident.region_id).where(Resident.id == rid))
    if region is None:
        raise NotFound(f"居民 {rid} 不存在")
    if not me.sees(region):
        await refuse(request, me, target=f"resident:{rid}")
    return rid


def _filtered(request: web.Request, me: Caller) -> Select[Any]:
    query = select(Resident.id).join(Region, Region.id == Resident.region_id)
    if me.scope is not None:
        query = query.where(Resident.region_id.in_(sorted(me.scope) or [-1]))
    grid = request.query.get("grid", "").strip()
    if grid:
        query = query.where(or_(Region.code == grid, Region.name == grid))
    search = request.query.get("q", "").strip()[:64]
    if search:
        query = query.where(or_(Resident.name.contains(search), Resident.phone.contains(search)))
    tag = request.query.get("tag", "").strip()[:32]
    if tag:
        query = query.where(
            Resident.id.in_(select(ResidentTag.resident_id).where(ResidentTag.tag == tag))
        )
    active = request.query.get("active", "true")
    if active not in ("true", "false", "all"):
        raise InvalidInput("active 只能是 true、false 或 all", field="active")
    if active != "all":
        moved = (
            Resident.moved_out_at.is_(None)
            if active == "true"
            else Resident.moved_out_at.is_not(None)
        )
        query = query.where(moved)
    return query


async def list_residents(request: web.Request) -> web.Response:
    """``GET /api/v1/residents?grid=&q=&tag=&active=true|false|all&limit=&offset=``."""
    me = await caller(request, *KEEP)
    limit, offset = page(request)
    query = _filtered(request, me)
    async with request.app[RESOURCES].db() as session:
        total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
        ids = await session.scalars(query.order_by(Resident.id).limit(limit).offset(offset))
        rows = [await _answer(session, rid) for rid in ids.all()]
    return web.json_response({"total": total, "residents": rows})


async def get_resident(request: web.Request) -> web.Response:
    me = await caller(request, *KEEP)
    async with request.app[RESOURCES].db() as session:
        rid = await _own(request, me, session)
        return web.json_response(await _answer(session, rid))


async def _save(request: web.Request, me: Caller, rid: int | None) -> dict[str, Any]:
    data = ResidentIn.model_validate(await json_object(request))
    async with transaction(request.app[RESOURCES].db) as session:
        saved = await save_one(
            session,
            data,
            resident_id=rid,
            scope=me.scope,
            default_consent=request.app[SETTINGS].roster_sms_consent,
            actor=me.user.username,
        )
        return await _answer(session, saved)


async def create_resident(request: web.Request) -> web.Response:
    me = await caller(request, *KEEP)
    return web.json_response(await _save(request, me, None), status=201)


async def update_resident(request: web.Request) -> web.Response:
    me = await caller(request, *KEEP)
    async with request.app[RESOURCES].db() as session:
        rid = await _own(request, me, session)
    return web.json_response(await _save(request, me, rid))


async def deactivate_resident(request: web.Request) -> web.Response:
    """Mark a resident moved out (迁出): kept for history, never pushed to again."""
    me = await caller(request, *KEEP)
    data = DeactivateIn.model_validate(await json_object(request))
    async with transaction(request.app[RESOURCES].db) as session:
        rid = await _own(request, me, session)
        await move_out(session, [rid], scope=me.scope, actor=me.user.username, reason=data.reason)
        return web.json_response(await _answer(session, rid))


async def bulk_residents(request: web.Request) -> web.Response:
    """The import's check (``?dry_run=true``) or check and apply of the good rows."""
    me = await caller(request, *KEEP)
    dry = request.query.get("dry_run", "false")
    if dry not in ("true", "false"):
        raise InvalidInput("dry_run 只能是 true 或 false", field="dry_run")
    data = BulkIn.model_validate(await json_object(request))
    if any(len(row) > MAX_CELLS for row in data.rows):
        raise InvalidInput(f"每行最多 {MAX_CELLS} 列", field="rows")
    if not data.rows:
        return web.json_response(RosterReport().as_json())
    cells = [{str(k): "" if v is None else str(v) for k, v in row.items()} for row in data.rows]
    async with transaction(request.app[RESOURCES].db) as session:
        report = await upsert(
            session,
            cells,
            scope=me.scope,
            default_consent=request.app[SETTINGS].roster_sms_consent,
            actor=me.user.username,
            apply=dry == "false",
        )
    if not report.readable:  # no row can be read: an input error, like a file's
        raise InvalidInput(f"缺少列：{'、'.join(report.missing_columns)}", field="rows")
    return web.json_response(report.as_json())
