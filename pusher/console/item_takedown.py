"""Console: stop an item's push, withdraw (撤回) it or mark it 失效, with a reason.

The same rules as the API (:func:`pusher.pipeline.lifecycle_push.may_take_down`):
leaders and admins, a duty officer (值班) for an urgent warning; anyone else gets 403
and an audit row.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from pusher.console.base import STAFF, deny, viewer
from pusher.console.items import load_item
from pusher.db import transaction
from pusher.errors import InvalidInput
from pusher.models import Role
from pusher.pipeline import lifecycle_push as lifecycle
from pusher.pipeline.withdraw_notice import add_notice
from pusher.web.keys import RESOURCES

ACTIONS = ("stop", "withdraw", "expire")


async def item_takedown(request: web.Request) -> web.Response:
    """POST action (stop | withdraw | expire) and reason; back to the item page."""
    me = await viewer(request, *STAFF, Role.GRID_WORKER)
    form = await request.post()
    action = str(form.get("action", ""))
    reason = str(form.get("reason", "")).strip()
    if action not in ACTIONS:
        raise InvalidInput("请选择停止推送、撤回或设为失效。", field="action")
    if not reason or len(reason) > 200:
        raise InvalidInput("请填写原因（200 字以内）。", field="reason")
    async with request.app[RESOURCES].db() as db:
        item = await load_item(db, request.match_info["item_id"])
    if not lifecycle.may_take_down(me.user, item):
        await deny(request, me, target=f"item:{item.id}", why="role")
    now, notice = datetime.now(UTC), None
    async with transaction(request.app[RESOURCES].db) as db:
        item = await load_item(db, request.match_info["item_id"])
        if action == "stop":
            await lifecycle.stop_push(db, item, actor=me.name, reason=reason, now=now)
        elif action == "withdraw":
            await lifecycle.withdraw_item(db, item, actor=me.name, reason=reason, now=now)
            if form.get("notify") == "on":
                notice = await add_notice(db, item, actor=me.name, reason=reason, now=now)
        else:
            await lifecycle.expire_item(db, item, actor=me.name, reason=reason, at=now)
    if notice is not None:
        queue = request.app[RESOURCES].queue
        await queue.enqueue("process_item", notice.id, job_id=f"process:{notice.id}")
    raise web.HTTPFound(f"/items/{item.id}")
