"""Village and grid group chats in the console: register a chat of one of three kinds —
a WeCom robot (the key shown masked afterwards), a WeCom customer group (owner and chat
id) or an ordinary WeChat group with its keeper who relays —, send a robot a test
message, change the key or keeper (waiting messages follow), deactivate. Grid workers
see and keep the chats of their own regions."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select

from channels.base import ChannelKind
from pusher.console.base import STAFF, Viewer, audit, deny, render, viewer
from pusher.console.flash import flash, take_flash
from pusher.db import transaction
from pusher.errors import Conflict, InvalidInput, UserError
from pusher.models import GroupChat, GroupChatKind, Region, RegionKind, Role, User
from pusher.privacy import mask_key
from pusher.town.chat_kinds import KIND_LABELS
from pusher.town.chats import (
    ChatIn,
    check_test_rate,
    create_chat,
    get_chat,
    send_test_message,
    set_chat_active,
    update_chat,
)
from pusher.town.regions import by_code
from pusher.web.keys import RESOURCES
from pusher.web.params import int_param
from pusher.web.scope import visible

KEEPERS = (Role.PUBLISHER, Role.GRID_WORKER)
NEXT_STEP = {
    GroupChatKind.ROBOT: "可以点“发测试消息”确认机器人能用。",
    GroupChatKind.CUSTOMER_GROUP: "推送时由群主在企业微信里确认发送。",
    GroupChatKind.RELAY: "推送时转发人会在“转发清单”里看到要转发的通知。",
}
MAX_FIELD = 300


async def _page(
    request: web.Request, me: Viewer, *, status: int = 200, error: str = ""
) -> web.Response:
    query = (
        select(GroupChat, Region.name, Region.code)
        .join(Region, Region.id == GroupChat.region_id)
        .order_by(Region.path, GroupChat.id)
    )
    regions_q = select(Region.id, Region.code, Region.name, Region.path).where(
        Region.active.is_(True),
        Region.kind.in_((RegionKind.TOWN, RegionKind.VILLAGE, RegionKind.GRID)),
    )
    users_q = select(User.id, User.username, User.display_name).where(User.active.is_(True))
    if me.scope is not None:  # a grid worker names themself (others are checked on save)
        users_q = users_q.where(User.id == me.user.id)
    async with request.app[RESOURCES].db() as db:
        rows = await db.execute(query)
        chats = [(c, name, code) for c, name, code in rows if visible(me.scope, c.region_id)]
        regions = [
            (code, "　" * (path.count("/") - 3) + name)
            for rid, code, name, path in await db.execute(regions_q.order_by(Region.path))
            if visible(me.scope, rid)
        ]
        users = [(uid, login, shown) for uid, login, shown in await db.execute(users_q)]
    names = {uid: login for uid, login, _ in users}
    if me.scope is not None:
        keeper_ids = {c.keeper_user_id for c, _, _ in chats} - {None}
        async with request.app[RESOURCES].db() as db:
            found = await db.execute(select(User.id, User.username).where(User.id.in_(keeper_ids)))
            names |= {uid: login for uid, login in found}
    return await render(
        request, "chats.html", me, status=status, chats=chats, regions=regions, error=error,
        done=take_flash(request), keeper=me.can(*KEEPERS), mask=mask_key, kinds=KIND_LABELS,
        users=users, names=names,
    )  # fmt: skip


async def chats_page(request: web.Request) -> web.Response:
    return await _page(request, await viewer(request, *STAFF, Role.GRID_WORKER))


def _input(form: Any) -> ChatIn:
    def field(name: str) -> str:
        return str(form.get(name, ""))[:MAX_FIELD].strip()

    return ChatIn(
        field("name"),
        field("region_code"),
        field("robot_key"),
        kind=field("kind"),
        keeper=field("keeper"),
        owner_userid=field("owner_userid"),
        wecom_chat_id=field("wecom_chat_id"),
    )


async def _check_region(request: web.Request, me: Viewer, code: str) -> None:
    if not code:
        raise InvalidInput("请选择群聊所属的村或网格。", field="region_code")
    async with request.app[RESOURCES].db() as db:
        region = await by_code(db, code)
    if not visible(me.scope, region.id):
        await deny(request, me, target=f"region:{region.id}", why="scope")


async def chat_create(request: web.Request) -> web.Response:
    me = await viewer(request, *KEEPERS)
    data = _input(await request.post())
    try:
        await _check_region(request, me, data.region_code)
        async with transaction(request.app[RESOURCES].db) as db:
            chat = await create_chat(db, data)
            await audit(db, me, "chat.create", f"group_chat:{chat.id}", name=chat.name)
    except UserError as exc:
        if exc.status == 403:
            raise
        return await _page(request, me, status=exc.status, error=exc.message)
    flash(request, f"已登记「{chat.name}」。" + NEXT_STEP.get(chat.kind, ""))
    raise web.HTTPFound("/chats")


async def chat_update(request: web.Request) -> web.Response:
    """One of: save (name, region, a new key), test, deactivate, reactivate."""
    me = await viewer(request, *KEEPERS)
    form = await request.post()
    action = str(form.get("action", ""))
    resources = request.app[RESOURCES]
    async with resources.db() as db:
        chat = await get_chat(db, int_param(request, "chat_id"))
    if not visible(me.scope, chat.region_id):
        await deny(request, me, target=f"group_chat:{chat.id}", why="scope")
    try:
        said = await _apply(request, me, chat, action, form)
    except UserError as exc:
        if exc.status == 403:
            raise
        return await _page(request, me, status=exc.status, error=exc.message)
    flash(request, said)
    raise web.HTTPFound("/chats")


async def _apply(request: web.Request, me: Viewer, chat: GroupChat, action: str, form: Any) -> str:
    resources = request.app[RESOURCES]
    if action == "test":
        if not chat.active:
            raise Conflict("这个群聊已停用。")
        async with resources.db() as db:
            await check_test_rate(db, chat)
        ok, said = await send_test_message(resources.channels[ChannelKind.WECOM], chat)
        async with transaction(resources.db) as db:
            await audit(db, me, "chat.test", f"group_chat:{chat.id}", ok=ok)
        if not ok:
            raise InvalidInput(said)
        return said
    async with transaction(resources.db) as db:
        chat = await get_chat(db, chat.id or 0)
        if action == "save":
            data = _input(form)
            await _check_region(request, me, data.region_code)
            moved = await update_chat(db, chat, data)
            said = f"已保存「{chat.name}」" + (
                f"，{moved} 条待发消息改发新机器人。" if moved else "。"
            )
        elif action in ("deactivate", "reactivate"):
            cancelled = await set_chat_active(db, chat, action == "reactivate")
            said = f"已{'恢复' if chat.active else '停用'}「{chat.name}」" + (
                f"，取消 {cancelled} 条待发消息。" if cancelled else "。"
            )
        else:
            raise InvalidInput("未知操作。")
        await audit(db, me, f"chat.{action}", f"group_chat:{chat.id}")
    return said
