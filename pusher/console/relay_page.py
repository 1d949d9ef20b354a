"""转发清单: the notices a grid worker or cadre forwards to the ordinary WeChat groups
they keep, phone-width: the ready text with a copy button, 已转发 in one tap, 未能转发
with a reason (see :mod:`pusher.town.relay`)."""

from __future__ import annotations

from aiohttp import web

from pusher.console.base import Viewer, audit, deny, render, viewer
from pusher.console.flash import flash, take_flash
from pusher.db import transaction
from pusher.errors import Forbidden, UserError
from pusher.models import Role, utcnow
from pusher.town.relay import REASONS, clean_reason, mark_refused, mark_relayed, relay_list
from pusher.web.keys import RESOURCES
from pusher.web.params import int_param

ANYONE = tuple(Role)  # a keeper may hold any role; the list shows only their own groups
MAX_FIELD = 300


async def _page(
    request: web.Request, me: Viewer, *, status: int = 200, error: str = ""
) -> web.Response:
    async with request.app[RESOURCES].db() as db:
        rows = await relay_list(db, me.user)
    return await render(
        request, "relay.html", me, status=status, rows=rows, reasons=REASONS, error=error,
        done=take_flash(request),
    )  # fmt: skip


async def relay_page(request: web.Request) -> web.Response:
    return await _page(request, await viewer(request, *ANYONE))


async def relay_done(request: web.Request) -> web.Response:
    """已转发."""
    return await _mark(request, refused=False)


async def relay_refuse(request: web.Request) -> web.Response:
    """未能转发, with a reason."""
    return await _mark(request, refused=True)


async def _mark(request: web.Request, *, refused: bool) -> web.Response:
    me = await viewer(request, *ANYONE)
    delivery_id = int_param(request, "delivery_id")
    form = await request.post()
    now = utcnow()
    try:
        async with transaction(request.app[RESOURCES].db) as db:
            if refused:
                reason = clean_reason(
                    str(form.get("reason", ""))[:MAX_FIELD], str(form.get("note", ""))[:MAX_FIELD]
                )
                changed = await mark_refused(db, delivery_id, me.user, reason, now=now)
                action, detail = "relay.refused", {"reason": reason}
            else:
                changed = await mark_relayed(db, delivery_id, me.user, now=now)
                action, detail = "relay.done", {}
            if changed:
                await audit(db, me, action, f"delivery:{delivery_id}", **detail)
    except Forbidden:
        await deny(request, me, target=f"delivery:{delivery_id}", why="keeper")
        raise
    except UserError as exc:
        if exc.status == 404:
            raise
        return await _page(request, me, status=exc.status, error=exc.message)
    if not changed:
        flash(request, "这条已经登记过了，无需重复操作。")
    else:
        flash(request, "已登记：未能转发，办公室会跟进。" if refused else "已登记：已转发。")
    raise web.HTTPFound("/relay")
