"""The 设置 page: the town's structure and the tools, one link each (``/settings``)."""

from __future__ import annotations

from aiohttp import web

from pusher.console.base import STAFF, render, viewer
from pusher.models import Role


async def settings_page(request: web.Request) -> web.Response:
    me = await viewer(request, *STAFF, Role.GRID_WORKER)
    return await render(request, "settings.html", me)
