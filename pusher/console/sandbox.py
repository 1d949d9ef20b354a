"""The sandbox inbox (embedded mode): what each phone or group chat would show."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select

from pusher.console.base import STAFF, render, viewer
from pusher.models import GroupChat, Resident, SandboxMessage
from pusher.web.keys import RESOURCES

KINDS = {"sms": "短信", "wechat": "公众号", "wecom": "微信群"}
LIMIT = 200


async def inbox(request: web.Request) -> web.Response:
    me = await viewer(request, *STAFF)
    chosen = request.query.get("to", "")
    async with request.app[RESOURCES].db() as db:
        boxes = (
            await db.execute(
                select(SandboxMessage.kind, SandboxMessage.recipient, func.count())
                .group_by(SandboxMessage.kind, SandboxMessage.recipient)
                .order_by(func.max(SandboxMessage.id).desc())
                .limit(LIMIT)
            )
        ).all()
        names: dict[str, str] = {}
        for query in (
            select(Resident.phone, Resident.name).where(Resident.phone.is_not(None)),
            select(Resident.openid, Resident.name).where(Resident.openid.is_not(None)),
            select(GroupChat.robot_key, GroupChat.name),
        ):
            names.update({str(key): str(name) for key, name in await db.execute(query)})
        messages = (
            (
                await db.scalars(
                    select(SandboxMessage)
                    .where(SandboxMessage.recipient == chosen)
                    .order_by(SandboxMessage.id)
                )
            ).all()
            if chosen
            else []
        )
    return await render(
        request,
        "sandbox.html",
        me,
        boxes=boxes,
        names=names,
        chosen=chosen,
        messages=messages,
        kinds=KINDS,
    )
