"""Residents, kept by grid workers: list, add, edit, opt-outs, export (imports: roster_import)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.console.base import Viewer, audit, deny, page_number, render, viewer
from pusher.console.residentform import grid_choices, parse_resident, resident_values
from pusher.console.streamed import download
from pusher.db import transaction
from pusher.errors import NotFound
from pusher.models import Region, Resident, ResidentTag, Role, Subscription, Topic, utcnow
from pusher.pipeline.readdress import follow_resident
from pusher.rosters.export import HEADER, roster_rows
from pusher.web.keys import RESOURCES
from pusher.web.params import int_param
from pusher.web.scope import visible

PAGE = 50


def _listing(me: Viewer, search: str, columns: tuple[Any, ...] = (Resident, Region.name)) -> Any:
    query = (
        select(*columns)
        .join(Region, Region.id == Resident.region_id)
        .order_by(Region.path, Resident.id)
    )
    if me.scope is not None:
        query = query.where(Resident.region_id.in_(me.scope or {-1}))
    if search:
        query = query.where(or_(Resident.name.contains(search), Resident.phone.contains(search)))
    return query


async def residents_page(request: web.Request) -> web.Response:
    me = await viewer(request, Role.GRID_WORKER)
    search = request.query.get("q", "").strip()
    page = page_number(request)
    query = _listing(me, search)
    async with request.app[RESOURCES].db() as db:
        total = await db.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = (await db.execute(query.limit(PAGE).offset((page - 1) * PAGE))).all()
    return await render(
        request,
        "residents.html",
        me,
        rows=rows,
        search=search,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE)),
    )


async def _resident(request: web.Request, db: AsyncSession, me: Viewer) -> Resident:
    resident = await db.get(Resident, int_param(request, "resident_id"))
    if resident is None:
        raise NotFound("这位居民不存在。")
    if not visible(me.scope, resident.region_id):
        await deny(request, me, target=f"resident:{resident.id}", why="scope")
    return resident


async def _form(
    request: web.Request,
    me: Viewer,
    values: dict[str, Any],
    errors: dict[str, str],
    resident_id: int | None,
    status: int = 200,
) -> web.Response:
    async with request.app[RESOURCES].db() as db:
        grids = await grid_choices(db, me.scope)
        topics = (await db.scalars(select(Topic.name).order_by(Topic.id))).all()
    return await render(
        request,
        "resident_form.html",
        me,
        values=values,
        errors=errors,
        grids=grids,
        topics=topics,
        resident_id=resident_id,
        status=status,
    )


async def resident_new(request: web.Request) -> web.Response:
    me = await viewer(request, Role.GRID_WORKER)
    return await _form(request, me, {"sms_consent": True, "topics": []}, {}, None)


async def resident_edit(request: web.Request) -> web.Response:
    me = await viewer(request, Role.GRID_WORKER)
    async with request.app[RESOURCES].db() as db:
        resident = await _resident(request, db, me)
        values = await resident_values(db, resident)
    return await _form(request, me, values, {}, resident.id)


async def resident_create(request: web.Request) -> web.Response:
    me = await viewer(request, Role.GRID_WORKER)
    return await _save(request, me, None)


async def resident_update(request: web.Request) -> web.Response:
    me = await viewer(request, Role.GRID_WORKER)
    async with request.app[RESOURCES].db() as db:
        resident = await _resident(request, db, me)
    return await _save(request, me, resident.id)


async def _save(request: web.Request, me: Viewer, resident_id: int | None) -> web.Response:
    form = await request.post()
    async with transaction(request.app[RESOURCES].db) as db:
        values, errors = await parse_resident(db, form, me.scope, resident_id)
        if errors:
            return await _form(request, me, values, errors, resident_id, status=422)
        resident = (
            await db.get(Resident, resident_id) if resident_id else Resident(name="", region_id=0)
        )
        assert resident is not None
        for key in (
            "name",
            "region_id",
            "phone",
            "openid",
            "sms_consent",
            "sms_opt_out",
            "wechat_opt_out",
        ):
            setattr(resident, key, values[key])
        resident.wechat_follows = bool(resident.openid)
        db.add(resident)
        await db.flush()
        if resident_id is not None:  # messages still waiting go to the address as saved
            await follow_resident(db, resident, utcnow())
        await _tags_and_topics(db, resident.id or 0, values)
        await audit(db, me, "resident.save", f"resident:{resident.id}", name=resident.name)
    raise web.HTTPFound(f"/residents?q={resident.phone or resident.name}")


async def _tags_and_topics(db: AsyncSession, rid: int, values: dict[str, Any]) -> None:
    await db.execute(delete(ResidentTag).where(ResidentTag.resident_id == rid))
    db.add_all(ResidentTag(resident_id=rid, tag=t) for t in values["tags"])
    chosen = set(values["topics"])
    subs = {
        s.topic_id: s
        for s in (
            await db.scalars(select(Subscription).where(Subscription.resident_id == rid))
        ).all()
    }
    for tid, name in await db.execute(select(Topic.id, Topic.name)):
        sub = subs.get(tid)
        if name in chosen and sub is None:
            db.add(Subscription(resident_id=rid, topic_id=tid))
        elif sub is not None:
            sub.opted_out = name not in chosen


async def export(request: web.Request) -> web.StreamResponse:
    """The roster in the columns an upload reads (see :mod:`pusher.rosters.export`)."""
    me = await viewer(request, Role.GRID_WORKER)
    fmt = request.match_info["fmt"]
    async with transaction(request.app[RESOURCES].db) as db:
        count, rows = await roster_rows(db, me.scope, phone=me.phone)
        await audit(db, me, "residents.export", request.path, rows=count, format=fmt)
    return await download(request, fmt, "居民名单", HEADER, rows)
