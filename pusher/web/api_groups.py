"""JSON API for groups (``/api/v1/groups``): who a push goes to, with their rules.

Who: the office roles (publisher, reviewer, leader; admins) read groups and previews;
publishers and reviewers (who keep the rules) create, edit and deactivate them. List
members are kept by the office and by grid workers, each within their own regions; a
grid worker's preview counts only their regions.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from pusher.audit import record
from pusher.db import transaction
from pusher.models import Group, Role
from pusher.town.groups import (
    create_group,
    get_group,
    group_json,
    members_of,
    preview,
    rules_of,
    set_group_active,
    set_members,
    update_group,
)
from pusher.town.schemas import GroupBody, Members
from pusher.web.auth import caller, require
from pusher.web.keys import RESOURCES
from pusher.web.params import int_param, json_object

READ = (Role.PUBLISHER, Role.REVIEWER, Role.LEADER)
WRITE = (Role.PUBLISHER, Role.REVIEWER)
MEMBERS = (Role.PUBLISHER, Role.REVIEWER, Role.GRID_WORKER)
PREVIEW = (*READ, Role.GRID_WORKER)


async def list_groups(request: web.Request) -> web.Response:
    await require(request, *READ)
    async with request.app[RESOURCES].db() as session:
        rows = (await session.scalars(select(Group).order_by(Group.kind, Group.name))).all()
    return web.json_response({"groups": [group_json(g) for g in rows]})


async def get_group_view(request: web.Request) -> web.Response:
    await require(request, *READ)
    async with request.app[RESOURCES].db() as session:
        group = await get_group(session, int_param(request, "group_id"))
        answer = group_json(group, await rules_of(session, group.id or 0))
        if group.kind == "list":
            answer["members"] = await members_of(session, group.id or 0)
    return web.json_response(answer)


async def create_group_view(request: web.Request) -> web.Response:
    user = await require(request, *WRITE)
    body = GroupBody.model_validate(await json_object(request))
    async with transaction(request.app[RESOURCES].db) as session:
        group = await create_group(session, body.to_input())
        rules = await rules_of(session, group.id or 0)
        record(session, actor=user.username, action="group.create", target=f"group:{group.id}")
    return web.json_response(group_json(group, rules), status=201)


async def update_group_view(request: web.Request) -> web.Response:
    user = await require(request, *WRITE)
    body = GroupBody.model_validate(await json_object(request))
    async with transaction(request.app[RESOURCES].db) as session:
        group = await get_group(session, int_param(request, "group_id"))
        before = await rules_of(session, group.id or 0)
        await update_group(session, group, body.to_input())
        if body.active != group.active:
            await set_group_active(session, group, body.active)
        rules = await rules_of(session, group.id or 0)
        record(
            session, actor=user.username, action="group.update", target=f"group:{group.id}",
            detail={"rules_before": before, "rules_after": rules},
        )  # fmt: skip
    return web.json_response(group_json(group, rules))


async def deactivate_group(request: web.Request) -> web.Response:
    user = await require(request, *WRITE)
    async with transaction(request.app[RESOURCES].db) as session:
        group = await get_group(session, int_param(request, "group_id"))
        await set_group_active(session, group, False)
        record(session, actor=user.username, action="group.deactivate", target=f"group:{group.id}")
    return web.json_response(group_json(group))


async def preview_group(request: web.Request) -> web.Response:
    me = await caller(request, *PREVIEW)
    async with request.app[RESOURCES].db() as session:
        group = await get_group(session, int_param(request, "group_id"))
        counts = await preview(session, group, scope=me.scope)
    return web.json_response({"group_id": group.id} | counts)


async def put_members(request: web.Request) -> web.Response:
    me = await caller(request, *MEMBERS)
    body = Members.model_validate(await json_object(request))
    async with transaction(request.app[RESOURCES].db) as session:
        group = await get_group(session, int_param(request, "group_id"))
        total = await set_members(session, group, body.resident_ids, scope=me.scope)
        record(
            session, actor=me.user.username, action="group.members", target=f"group:{group.id}",
            detail={"count": total},
        )  # fmt: skip
    return web.json_response({"group_id": group.id, "members": total})
