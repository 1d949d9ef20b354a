"""Regions in the console (administrators): the tree, import from the statistics
bureau's spreadsheet with a row-level report, add, rename, move, retire."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from pusher.console.base import Viewer, audit, deny, render, viewer
from pusher.console.flash import flash, take_flash
from pusher.db import transaction
from pusher.errors import InvalidInput, UserError
from pusher.models import Region, Resident, Role
from pusher.town.codes import KIND_NAMES
from pusher.town.region_import import RegionReport, import_regions
from pusher.town.regions import (
    RegionIn,
    create_region,
    get_region,
    move_region,
    reactivate_region,
    rename_region,
    retire_region,
)
from pusher.web.keys import RESOURCES
from pusher.web.params import int_param
from subscriptions.importer import MAX_FILE_BYTES, FileRefused, read_rows

MAX_FIELD = 300


async def _admin(request: web.Request) -> Viewer:
    me = await viewer(request)
    if me.role != Role.ADMIN:
        await deny(request, me, target=request.path, why="role")
    return me


async def tree(request: web.Request) -> list[dict[str, Any]]:
    """Every region in path order with its depth, kind name and resident count."""
    async with request.app[RESOURCES].db() as db:
        regions = (await db.scalars(select(Region).order_by(Region.path))).all()
        counts: dict[int, int] = dict(
            (
                await db.execute(
                    select(Resident.region_id, func.count()).group_by(Resident.region_id)
                )
            ).all()
        )
    return [
        {
            "region": r,
            "depth": r.path.count("/") - 2,
            "kind": KIND_NAMES.get(r.kind, r.kind),
            "residents": counts.get(r.id, 0),
        }
        for r in regions
    ]


async def _page(
    request: web.Request, me: Viewer, *, status: int = 200, **extra: Any
) -> web.Response:
    extra.setdefault("report", None)
    extra.setdefault("error", None)
    return await render(
        request, "regions.html", me, status=status, rows=await tree(request),
        welcome=request.query.get("welcome") == "1", done=take_flash(request), **extra,
    )  # fmt: skip


async def regions_page(request: web.Request) -> web.Response:
    return await _page(request, await _admin(request))


async def region_import(request: web.Request) -> web.Response:
    me = await _admin(request)
    upload = (await request.post()).get("file")
    if not isinstance(upload, web.FileField):
        return await _page(request, me, status=422, error="请选择 Excel（.xlsx）或 CSV 文件。")
    try:
        raw = await asyncio.to_thread(_read, upload)
    except FileRefused as exc:
        return await _page(request, me, status=exc.status, error=exc.message)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        return await _page(
            request, me, status=422, error="无法读取这个文件，请确认是 .xlsx 或 .csv。"
        )
    async with transaction(request.app[RESOURCES].db) as db:
        report: RegionReport = await import_regions(db, raw)
        if report.ok:
            await audit(db, me, "region.import", upload.filename[:100], created=report.created)
    if not report.ok:
        return await _page(request, me, status=422, report=report)
    counts = (report.created, report.renamed, report.unchanged)
    flash(request, "导入完成：新建 {} 个，改名 {} 个，未变 {} 个。".format(*counts))
    raise web.HTTPFound("/regions")


def _read(upload: web.FileField) -> list[dict[str, str]]:
    return read_rows(upload.file.read(MAX_FILE_BYTES + 1), upload.filename)


def _field(form: Any, name: str) -> str:
    return str(form.get(name, ""))[:MAX_FIELD].strip()


async def region_create(request: web.Request) -> web.Response:
    me = await _admin(request)
    form = await request.post()
    data = RegionIn(_field(form, "name"), _field(form, "code"), _field(form, "parent_code") or None)
    try:
        async with transaction(request.app[RESOURCES].db) as db:
            region = await create_region(db, data)
            await audit(db, me, "region.create", region.code, name=region.name)
    except UserError as exc:
        return await _page(request, me, status=exc.status, error=exc.message)
    flash(request, f"已新建「{region.name}」（{region.code}）")
    raise web.HTTPFound("/regions")


async def region_change(request: web.Request) -> web.Response:
    """One of: rename, move, retire (delete if unused, else deactivate), reactivate."""
    me = await _admin(request)
    form = await request.post()
    action = _field(form, "action")
    try:
        async with transaction(request.app[RESOURCES].db) as db:
            region = await get_region(db, int_param(request, "region_id"))
            said = await _apply(db, region, action, form)
            await audit(db, me, f"region.{action}", region.code, result=said)
    except UserError as exc:
        return await _page(request, me, status=exc.status, error=exc.message)
    flash(request, said)
    raise web.HTTPFound("/regions")


async def _apply(db: Any, region: Region, action: str, form: Any) -> str:
    if action == "rename":
        await rename_region(db, region, _field(form, "name"))
        return f"已改名为「{region.name}」"
    if action == "move":
        await move_region(db, region, _field(form, "parent_code"))
        return f"已移动「{region.name}」"
    if action == "retire":
        outcome = await retire_region(db, region, _field(form, "reason"))
        return f"已{'删除' if outcome == 'deleted' else '停用'}「{region.name}」"
    if action == "reactivate":
        await reactivate_region(db, region)
        return f"已恢复「{region.name}」"
    raise InvalidInput("未知操作。")
