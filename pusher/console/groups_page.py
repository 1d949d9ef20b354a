"""Groups in the console: create (with rules, checked like the rule editor), edit,
deactivate, list members, and a preview of who is in a group now."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select

from pusher.console.base import STAFF, Viewer, audit, render, viewer
from pusher.console.flash import flash, take_flash
from pusher.db import transaction
from pusher.errors import InvalidInput, UserError
from pusher.models import Group, Region, RegionKind, Role, Topic
from pusher.town.groups import (
    GroupIn,
    create_group,
    get_group,
    members_of,
    preview,
    rules_of,
    set_group_active,
    set_members,
    update_group,
)
from pusher.web.keys import RESOURCES
from pusher.web.params import int_param, parse_id

KEEPERS = (Role.PUBLISHER, Role.REVIEWER)
KIND_NAMES = {"region": "地区", "topic": "订阅领域", "tag": "标签", "list": "名单"}
MAX_FIELD = 2000
MAX_MEMBER_TEXT = 60_000


async def _choices(request: web.Request) -> dict[str, Any]:
    async with request.app[RESOURCES].db() as db:
        regions = (
            await db.execute(
                select(Region.code, Region.name, Region.path)
                .where(Region.active.is_(True), Region.kind != RegionKind.COUNTY)
                .order_by(Region.path)
            )
        ).all()
        topics = (
            await db.execute(
                select(Topic.id, Topic.name).where(Topic.active.is_(True)).order_by(Topic.id)
            )
        ).all()
    return {
        "regions": [(code, "　" * (path.count("/") - 3) + name) for code, name, path in regions],
        "topics": list(topics),
        "kinds": KIND_NAMES,
    }


async def _list(
    request: web.Request, me: Viewer, *, status: int = 200, error: str = ""
) -> web.Response:
    async with request.app[RESOURCES].db() as db:
        groups = (await db.scalars(select(Group).order_by(Group.kind, Group.name))).all()
    return await render(
        request, "groups.html", me, status=status, groups=groups, error=error,
        done=take_flash(request), keeper=me.can(*KEEPERS), **await _choices(request),
    )  # fmt: skip


async def groups_page(request: web.Request) -> web.Response:
    return await _list(request, await viewer(request, *STAFF))


def _input(form: Any, *, rules: bool = True) -> GroupIn:
    def field(name: str) -> str:
        return str(form.get(name, ""))[:MAX_FIELD].strip()

    lines = tuple(line for line in field("rules").splitlines() if line.strip())
    return GroupIn(
        name=field("name"), kind=field("kind"), region_code=field("region_code") or None,
        topic_id=parse_id(field("topic_id")), tag=field("tag") or None,
        rules=lines if rules else None,
    )  # fmt: skip


async def group_create(request: web.Request) -> web.Response:
    me = await viewer(request, *KEEPERS)
    form = await request.post()
    try:
        async with transaction(request.app[RESOURCES].db) as db:
            group = await create_group(db, _input(form))
            await audit(db, me, "group.create", f"group:{group.id}", name=group.name)
    except UserError as exc:
        return await _list(request, me, status=exc.status, error=exc.message)
    flash(request, f"已新建推送对象「{group.name}」。")
    raise web.HTTPFound(f"/groups/{group.id}")


async def _detail(
    request: web.Request, me: Viewer, *, status: int = 200, error: str = ""
) -> web.Response:
    async with request.app[RESOURCES].db() as db:
        group = await get_group(db, int_param(request, "group_id"))
        counts = await preview(db, group, scope=me.scope)
        rules = await rules_of(db, group.id or 0)
        members = await members_of(db, group.id or 0) if group.kind == "list" else []
        code = await db.scalar(select(Region.code).where(Region.id == group.region_id))
    return await render(
        request, "group_edit.html", me, status=status, group=group, counts=counts, rules=rules,
        members=members, region_code=code or "", error=error, done=take_flash(request),
        keeper=me.can(*KEEPERS), member_keeper=me.can(*KEEPERS, Role.GRID_WORKER),
        **await _choices(request),
    )  # fmt: skip


async def group_page(request: web.Request) -> web.Response:
    return await _detail(request, await viewer(request, *STAFF, Role.GRID_WORKER))


async def group_update(request: web.Request) -> web.Response:
    """One of: save (name and target; rules stay: the rule editor keeps them),
    deactivate, reactivate, members (list groups; grid workers within their regions)."""
    form = await request.post()
    action = str(form.get("action", "save"))
    roles = (*KEEPERS, Role.GRID_WORKER) if action == "members" else KEEPERS
    me = await viewer(request, *roles)
    try:
        async with transaction(request.app[RESOURCES].db) as db:
            group = await get_group(db, int_param(request, "group_id"))
            said = await _apply(db, me, group, action, form)
            await audit(db, me, f"group.{action}", f"group:{group.id}", result=said)
    except UserError as exc:
        return await _detail(request, me, status=exc.status, error=exc.message)
    flash(request, said)
    raise web.HTTPFound(f"/groups/{group.id}")


async def _apply(db: Any, me: Viewer, group: Group, action: str, form: Any) -> str:
    if action == "members":
        text = str(form.get("members", ""))[:MAX_MEMBER_TEXT]
        ids = [i for raw in text.replace(",", " ").split() if (i := parse_id(raw)) is not None]
        total = await set_members(db, group, ids, scope=me.scope)
        return f"名单已保存，共 {total} 人。"
    if action in ("deactivate", "reactivate"):
        await set_group_active(db, group, action == "reactivate")
        return f"已{'恢复' if group.active else '停用'}「{group.name}」。"
    if action != "save":
        raise InvalidInput("未知操作。")
    await update_group(db, group, _input(form, rules=False))
    return f"已保存「{group.name}」。"
