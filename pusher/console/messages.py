"""Residents' messages (回应关切), pending bindings and the QR posters, in the console.

Grid workers see the messages, binding requests and posters of their own regions and
answer, close, accept or reject there; the office reads every message and the response
times per grid. Urgent messages come first, flagged.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from statistics import median
from typing import Any

from aiohttp import web
from sqlalchemy import select

from channels.base import ChannelError
from pusher.console.base import STAFF, Viewer, audit, deny, render, viewer
from pusher.db import transaction
from pusher.errors import NotFound, UserError
from pusher.models import Region, Resident, ResidentMessage, Role, WxBinding
from pusher.residents import binding, messages, scenes, wxapi
from pusher.web.keys import RESOURCES, SETTINGS
from pusher.web.params import int_param
from pusher.web.scope import visible

LIMIT = 300


def _scoped(query: Any, me: Viewer, column: Any) -> Any:
    return query if me.scope is None else query.where(column.in_(me.scope or {-1}))


async def messages_page(request: web.Request) -> web.Response:
    me = await viewer(request, Role.GRID_WORKER, *STAFF)
    status = "closed" if request.query.get("status") == "closed" else "open"
    query = (
        select(ResidentMessage, Resident.name, Region.name)
        .outerjoin(Resident, Resident.id == ResidentMessage.resident_id)
        .outerjoin(Region, Region.id == ResidentMessage.region_id)
        .where(ResidentMessage.status == status)
        .order_by(ResidentMessage.urgent.desc(), ResidentMessage.id.desc())
    )
    async with request.app[RESOURCES].db() as db:
        rows = (await db.execute(_scoped(query, me, ResidentMessage.region_id).limit(LIMIT))).all()
        times = await _response_times(db, me)
    return await render(
        request,
        "messages.html",
        me,
        rows=rows,
        showing=status,
        times=times,
        can_answer=me.can(Role.GRID_WORKER),
        done=request.query.get("done", ""),
    )


async def _response_times(db: Any, me: Viewer) -> list[tuple[str, int, float]]:
    """(grid, answered, median minutes to the answer) over the last answered messages."""
    query = (
        select(Region.name, ResidentMessage.created_at, ResidentMessage.answered_at)
        .join(Region, Region.id == ResidentMessage.region_id)
        .where(ResidentMessage.answered_at.is_not(None))
        .order_by(ResidentMessage.id.desc())
    )
    minutes: dict[str, list[float]] = defaultdict(list)
    for name, asked, answered in (
        await db.execute(_scoped(query, me, ResidentMessage.region_id).limit(2000))
    ).all():
        minutes[name].append((answered - asked).total_seconds() / 60)
    return sorted((n, len(m), round(median(m), 1)) for n, m in minutes.items())


async def _message(db: Any, request: web.Request, me: Viewer) -> ResidentMessage:
    message_id = int_param(request, "message_id")
    message = await db.get(ResidentMessage, message_id)
    if message is None:
        raise NotFound("这条留言不存在。")
    if not visible(me.scope, message.region_id):
        await deny(request, me, target=f"message:{message_id}", why="scope")
    return message


async def answer(request: web.Request) -> web.Response:
    """网格员回复: by WeChat inside the 48-hour window, else by SMS."""
    me = await viewer(request, Role.GRID_WORKER)
    form = await request.post()
    resources, settings = request.app[RESOURCES], request.app[SETTINGS]
    async with transaction(resources.db) as db:
        message = await _message(db, request, me)
        try:
            via = await messages.answer(
                db,
                resources.channels,
                message,
                str(form.get("answer", "")),
                by=me.name,
                wx=settings.wx,
            )
        except ChannelError as exc:
            raise UserError(f"回复发送失败（{exc.code}），请稍后再试。") from exc
        await audit(db, me, "message.answer", f"message:{message.id}", via=via)
    raise web.HTTPFound(f"/messages?done={message.id}")


async def close(request: web.Request) -> web.Response:
    me = await viewer(request, Role.GRID_WORKER)
    async with transaction(request.app[RESOURCES].db) as db:
        message = await _message(db, request, me)
        messages.close(message)
        await audit(db, me, "message.close", f"message:{message.id}")
    raise web.HTTPFound(f"/messages?done={message.id}")


async def bindings_page(request: web.Request) -> web.Response:
    me = await viewer(request, Role.GRID_WORKER)
    query = (
        select(WxBinding, Region.name)
        .join(Region, Region.id == WxBinding.region_id)
        .where(WxBinding.status == binding.PENDING)
        .order_by(WxBinding.id)
    )
    async with request.app[RESOURCES].db() as db:
        rows = (await db.execute(_scoped(query, me, WxBinding.region_id).limit(LIMIT))).all()
    return await render(request, "bindings.html", me, rows=rows, done=request.query.get("done", ""))


async def decide_binding(request: web.Request) -> web.Response:
    """Accept (a roster record is made or matched and bound) or reject a pending binding."""
    me = await viewer(request, Role.GRID_WORKER)
    binding_id = int_param(request, "binding_id")
    accept = (await request.post()).get("decision") == "accept"
    async with transaction(request.app[RESOURCES].db) as db:
        row = await db.get(WxBinding, binding_id)
        if row is None:
            raise NotFound("这条绑定申请不存在。")
        if not visible(me.scope, row.region_id):
            await deny(request, me, target=f"binding:{binding_id}", why="scope")
        await binding.decide(db, row, accept=accept, by=me.name)
        await audit(
            db, me, "binding.accept" if accept else "binding.reject", f"binding:{binding_id}"
        )
    raise web.HTTPFound(f"/bindings?done={binding_id}")


async def posters_page(request: web.Request) -> web.Response:
    me = await viewer(request, Role.GRID_WORKER, *STAFF)
    query = select(Region).where(Region.kind.in_(scenes.QR_KINDS)).order_by(Region.path)
    async with request.app[RESOURCES].db() as db:
        regions = list(await db.scalars(_scoped(query, me, Region.id)))
    return await render(request, "posters.html", me, regions=regions)


async def poster(request: web.Request) -> web.Response:
    """A printable A4 poster: the region's QR code (fetched through us), town, instruction."""
    me = await viewer(request, Role.GRID_WORKER, *STAFF)
    region_id = int_param(request, "region_id")
    resources = request.app[RESOURCES]
    async with resources.db() as db:
        region = await db.get(Region, region_id)
        if region is None or region.kind not in scenes.QR_KINDS:
            raise NotFound("没有这个村（社区）或网格。")
        if not visible(me.scope, region.id):
            await deny(request, me, target=f"region:{region_id}", why="scope")
        town = await scenes.town_of(db, region)
    image, problem = await _qr(request, scenes.scene_for(region))
    return await render(
        request, "poster.html", me, region=region, town=town, image=image, problem=problem
    )


async def _qr(request: web.Request, scene: str) -> tuple[str, str]:
    """The QR image as a data: URI, or why there is none."""
    resources = request.app[RESOURCES]
    try:
        ticket = await wxapi.qr_ticket(wxapi.account(resources.channels), scene)
        raw = await wxapi.qr_image(resources.http, request.app[SETTINGS].wechat, ticket)
    except UserError as exc:
        return "", exc.message
    except ChannelError as exc:
        return "", f"二维码获取失败（{exc.code}），请稍后刷新。"
    return "data:image/jpeg;base64," + base64.b64encode(raw).decode(), ""
