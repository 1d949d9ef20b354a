"""JSON API for village and grid group chats (``/api/v1/group-chats``).

Who: the office (publisher, reviewer, leader; admins) reads every chat; a grid worker
the chats of their regions. Admins, publishers and grid workers (in their regions)
register, change, test and deactivate them. Robot keys are answered masked.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from channels.base import ChannelKind
from pusher.audit import record
from pusher.db import transaction
from pusher.errors import Conflict
from pusher.models import GroupChat, Role
from pusher.town.chats import (
    chat_json,
    check_test_rate,
    create_chat,
    get_chat,
    send_test_message,
    set_chat_active,
    update_chat,
)
from pusher.town.regions import by_code
from pusher.town.schemas import ChatBody
from pusher.web.auth import Caller, caller, refuse
from pusher.web.keys import RESOURCES
from pusher.web.params import int_param, json_object

READ = (Role.PUBLISHER, Role.REVIEWER, Role.LEADER, Role.GRID_WORKER)
WRITE = (Role.PUBLISHER, Role.GRID_WORKER)


async def _mine(request: web.Request, me: Caller, chat: GroupChat) -> GroupChat:
    if not me.sees(chat.region_id):
        await refuse(request, me, target=f"group_chat:{chat.id}")
    return chat


async def list_chats(request: web.Request) -> web.Response:
    me = await caller(request, *READ)
    query = select(GroupChat).order_by(GroupChat.region_id, GroupChat.id)
    if me.scope is not None:
        query = query.where(GroupChat.region_id.in_(me.scope))
    async with request.app[RESOURCES].db() as session:
        rows = (await session.scalars(query)).all()
    return web.json_response({"group_chats": [chat_json(c) for c in rows]})


async def get_chat_view(request: web.Request) -> web.Response:
    me = await caller(request, *READ)
    async with request.app[RESOURCES].db() as session:
        chat = await get_chat(session, int_param(request, "chat_id"))
    return web.json_response(chat_json(await _mine(request, me, chat)))


async def _check_region(request: web.Request, me: Caller, code: str) -> None:
    async with request.app[RESOURCES].db() as session:
        region = await by_code(session, code)
    if not me.sees(region.id):
        await refuse(request, me, target=f"region:{region.id}")


async def create_chat_view(request: web.Request) -> web.Response:
    me = await caller(request, *WRITE)
    body = ChatBody.model_validate(await json_object(request))
    await _check_region(request, me, body.region_code)
    async with transaction(request.app[RESOURCES].db) as session:
        chat = await create_chat(session, body.to_input())
        record(
            session, actor=me.user.username, action="chat.create", target=f"group_chat:{chat.id}"
        )
    return web.json_response(chat_json(chat), status=201)


async def update_chat_view(request: web.Request) -> web.Response:
    """Rename, move, change the robot (waiting messages follow the new key), (de)activate."""
    me = await caller(request, *WRITE)
    body = ChatBody.model_validate(await json_object(request))
    await _check_region(request, me, body.region_code)
    async with transaction(request.app[RESOURCES].db) as session:
        chat = await _mine(request, me, await get_chat(session, int_param(request, "chat_id")))
        moved = await update_chat(session, chat, body.to_input())
        if body.active != chat.active:
            await set_chat_active(session, chat, body.active)
        record(
            session, actor=me.user.username, action="chat.update", target=f"group_chat:{chat.id}",
            detail={"moved": moved, "key_changed": bool(body.robot_key)},
        )  # fmt: skip
    return web.json_response(chat_json(chat) | {"moved": moved})


async def deactivate_chat(request: web.Request) -> web.Response:
    me = await caller(request, *WRITE)
    async with transaction(request.app[RESOURCES].db) as session:
        chat = await _mine(request, me, await get_chat(session, int_param(request, "chat_id")))
        cancelled = await set_chat_active(session, chat, False)
        record(
            session, actor=me.user.username, action="chat.deactivate",
            target=f"group_chat:{chat.id}", detail={"cancelled": cancelled},
        )  # fmt: skip
    return web.json_response(chat_json(chat) | {"cancelled": cancelled})


async def test_chat_view(request: web.Request) -> web.Response:
    """Send one test message to the chat's robot; 200 with ``ok`` and what happened."""
    me = await caller(request, *WRITE)
    resources = request.app[RESOURCES]
    async with resources.db() as session:
        chat = await _mine(request, me, await get_chat(session, int_param(request, "chat_id")))
    if not chat.active:
        raise Conflict("这个群聊已停用。")
    async with resources.db() as session:
        await check_test_rate(session, chat)
    ok, said = await send_test_message(resources.channels[ChannelKind.WECOM], chat)
    async with transaction(resources.db) as session:
        record(
            session, actor=me.user.username, action="chat.test", target=f"group_chat:{chat.id}",
            detail={"ok": ok},
        )  # fmt: skip
    return web.json_response({"id": chat.id, "ok": ok, "message": said})
