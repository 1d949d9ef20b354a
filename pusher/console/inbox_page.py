"""The sandbox inbox (embedded mode): what each phone or group chat would show.

Boxes are linked by the id of their latest message, never by the number, openid or
robot key, so no address ends up in a URL (history, proxy logs, Referer); the page shows
addresses masked as the viewer's role allows (:mod:`pusher.privacy`).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.console.base import STAFF, Viewer, render, viewer
from pusher.models import GroupChat, Resident, SandboxMessage
from pusher.privacy import recipient_for
from pusher.web.keys import RESOURCES
from pusher.web.params import parse_id

KINDS = {"sms": "短信", "wechat": "公众号", "wecom": "微信群"}
LIMIT = 200


async def _names(db: AsyncSession) -> dict[str, str]:
    names: dict[str, str] = {}
    for query in (
        select(Resident.phone, Resident.name).where(Resident.phone.is_not(None)),
        select(Resident.openid, Resident.name).where(Resident.openid.is_not(None)),
        select(GroupChat.robot_key, GroupChat.name),
    ):
        names.update({str(key): str(name) for key, name in await db.execute(query)})
    return names


async def _boxes(db: AsyncSession, me: Viewer, names: dict[str, str]) -> list[dict[str, Any]]:
    rows = await db.execute(
        select(
            SandboxMessage.kind,
            SandboxMessage.recipient,
            func.count(),
            func.max(SandboxMessage.id),
        )
        .group_by(SandboxMessage.kind, SandboxMessage.recipient)
        .order_by(func.max(SandboxMessage.id).desc())
        .limit(LIMIT)
    )
    return [
        {
            "kind": kind,
            "name": names.get(recipient, ""),
            "address": recipient_for(me.role, kind, recipient),
            "count": count,
            "box": last,
        }
        for kind, recipient, count, last in rows
    ]


async def _chosen(db: AsyncSession, raw: str) -> str:
    """The recipient of the box whose latest message is ``raw`` ("" when none)."""
    if (message_id := parse_id(raw)) is None:
        return ""
    found = await db.scalar(select(SandboxMessage.recipient).where(SandboxMessage.id == message_id))
    return found or ""


async def inbox(request: web.Request) -> web.Response:
    me = await viewer(request, *STAFF)
    async with request.app[RESOURCES].db() as db:
        names = await _names(db)
        boxes = await _boxes(db, me, names)
        chosen = await _chosen(db, request.query.get("box", ""))
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
        chosen_name=names.get(chosen, "") if chosen else "",
        chosen=bool(chosen),
        messages=messages,
        kinds=KINDS,
    )
