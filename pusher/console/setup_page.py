"""The first-run setup page (``/setup``): open only while no administrator exists.

It creates the first administrator and names the town (and its county), signs the new
administrator in and sends them to the regions page to import or enter villages and
grids. Once an administrator exists the page answers 404 and the login page no longer
sends anyone here. Its form carries the CSRF token like every console form.
"""

from __future__ import annotations

from aiohttp import web

from pusher.console.base import render
from pusher.console.first_run import SetupIn, needs_setup, run_setup
from pusher.console.session import VERSION, new_session
from pusher.db import transaction
from pusher.errors import NotFound, UserError
from pusher.web.keys import RESOURCES

MAX_FIELD = 1024
FIELDS = ("username", "password", "display_name", "town_name", "town_code", "county_name",
          "county_code")  # fmt: skip
CLOSED = "初始设置已完成，此页面已关闭。请用管理员账号登录。"


async def setup_open(request: web.Request) -> bool:
    async with request.app[RESOURCES].db() as session:
        return await needs_setup(session)


async def setup_page(request: web.Request) -> web.Response:
    if not await setup_open(request):
        raise NotFound(CLOSED)
    return await render(request, "setup.html", None, form={}, error=None)


async def setup_submit(request: web.Request) -> web.Response:
    if not await setup_open(request):
        raise NotFound(CLOSED)
    raw = await request.post()
    form = {name: str(raw.get(name, ""))[:MAX_FIELD] for name in FIELDS}
    if form["password"] != str(raw.get("password2", ""))[:MAX_FIELD]:
        return await _again(request, form, "两次输入的密码不一致。")
    try:
        async with transaction(request.app[RESOURCES].db) as session:
            user = await run_setup(session, SetupIn(**form))
    except UserError as exc:
        if exc.status == 409:
            raise
        return await _again(request, form, exc.message)
    fresh = new_session(request)
    fresh["uid"], fresh[VERSION] = user.id, user.session_version
    raise web.HTTPFound("/regions?welcome=1")


async def _again(request: web.Request, form: dict[str, str], error: str) -> web.Response:
    form = form | {"password": ""}
    return await render(request, "setup.html", None, status=422, form=form, error=error)
