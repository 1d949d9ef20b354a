"""Erasure of a resident's personal data, on their request, by the office (admin).

Who: only admins. A grid worker who receives a resident's request passes it on to
the office (their resident page says so): erasure cannot be undone, so it is done
where the request is checked and recorded, not in each grid. How: a confirmation
page names the resident, asks for the reason and a tick that the request was
verified; the erasure and any refusal are written to the audit log.
"""

from __future__ import annotations

from aiohttp import web

from pusher.console.base import Viewer, render, viewer
from pusher.errors import InvalidInput, NotFound
from pusher.models import Resident, Role
from pusher.pipeline.lifecycle import FORGOTTEN_NAME, erasure_reason, forget_resident
from pusher.web.keys import RESOURCES
from pusher.web.params import int_param

CONFIRM = "请勾选“已核实为本人申请”后再删除。"


async def _resident(request: web.Request) -> Resident:
    async with request.app[RESOURCES].db() as db:
        resident = await db.get(Resident, int_param(request, "resident_id"))
    if resident is None:
        raise NotFound("这位居民不存在。")
    return resident


async def _page(
    request: web.Request, me: Viewer, resident: Resident, *, error: str = "", status: int = 200
) -> web.Response:
    return await render(
        request,
        "resident_erase.html",
        me,
        resident=resident,
        forgotten=resident.name == FORGOTTEN_NAME and not resident.phone,
        error=error,
        status=status,
    )


async def erase_page(request: web.Request) -> web.Response:
    """The confirmation page: who, what will be removed, the reason asked for."""
    me = await viewer(request, Role.ADMIN)
    return await _page(request, me, await _resident(request))


async def erase(request: web.Request) -> web.Response:
    """Erase after the confirmation; back to the page with the error otherwise (422)."""
    me = await viewer(request, Role.ADMIN)
    resident = await _resident(request)
    form = await request.post()
    try:
        reason = erasure_reason(form.get("reason"))
        if form.get("confirm") != "on":
            raise InvalidInput(CONFIRM, field="confirm")
    except InvalidInput as exc:
        return await _page(request, me, resident, error=exc.message, status=422)
    assert resident.id is not None
    db = request.app[RESOURCES].db
    await forget_resident(db, resident.id, actor=me.name, reason=reason, via="console")
    raise web.HTTPFound(f"/residents/{resident.id}/erase?done=1")
