"""Residents over the API: erasure of a resident's personal data on their request.

Only the office (admin) erases, with a reason; the erasure is audited (who, why, how
many rows) and the refusal of anyone else is audited too (403). The resident's record
stays, named 已删除, so counts and delivery history keep adding up.
"""

from __future__ import annotations

from aiohttp import web

from pusher.models import Role
from pusher.pipeline.lifecycle import erasure_reason, forget_resident
from pusher.web.auth import caller
from pusher.web.keys import RESOURCES
from pusher.web.params import int_param, json_object


async def erase_resident(request: web.Request) -> web.Response:
    """``POST /api/v1/residents/{resident_id}/erase`` with ``{"reason": "…"}``."""
    me = await caller(request, Role.ADMIN)
    resident_id = int_param(request, "resident_id")
    reason = erasure_reason((await json_object(request)).get("reason"))
    counts = await forget_resident(
        request.app[RESOURCES].db, resident_id, actor=me.user.username, reason=reason, via="api"
    )
    return web.json_response({"id": resident_id, "erased": True, "rows": counts})
