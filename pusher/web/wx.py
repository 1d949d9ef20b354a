"""Residents' mobile pages under ``/wx/`` (390 px first, a large-type mode: 适老化).

Opened from the account's menu or the welcome message: binding to the roster (and
for family members, 代收), topics and channels, "my notices" and a message to the
grid worker. The resident is whoever WeChat's OAuth says (:mod:`pusher.web.wx_auth`);
every form carries the session's CSRF token. Errors are pages with a Chinese sentence.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from channels.base import ChannelKind
from pusher.audit import record
from pusher.db import transaction
from pusher.errors import NotFound, UserError
from pusher.privacy import mask_phone
from pusher.residents import binding, choices, messages
from pusher.residents.scenes import seen
from pusher.web import wx_auth
from pusher.web.clients import client_address
from pusher.web.keys import RESOURCES, SETTINGS
from pusher.web.local_time import localtime
from pusher.web.params import parse_id

HERE = Path(__file__).parent / "templates" / "wx"
WX_JINJA = web.AppKey("wx_jinja", jinja2.Environment)
CSP = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; form-action 'self'; frame-ancestors 'none'"
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _big(request: web.Request) -> bool:
    size = request.query.get("size")
    return size == "big" if size in ("big", "normal") else request.cookies.get("wx_big") == "1"


def page(request: web.Request, name: str, *, status: int = 200, **context: Any) -> web.Response:
    """Render a ``/wx/`` page (no caching, framing or outside scripts)."""
    context.setdefault("big", _big(request))
    resp = aiohttp_jinja2.render_template(name, request, context, status=status, app_key=WX_JINJA)
    resp.headers.update({"Content-Security-Policy": CSP, "Cache-Control": "no-store"})
    if request.query.get("size") in ("big", "normal"):
        resp.set_cookie("wx_big", "1" if context["big"] else "0", path="/wx/", max_age=31536000)
    return resp


def guarded(handler: Handler) -> Handler:
    """A ``/wx/`` handler whose refusals are pages with the Chinese sentence."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except UserError as exc:
            return page(request, "error.html", status=exc.status, message=exc.message)

    return wrapped


async def _form(request: web.Request) -> tuple[str, dict[str, str]]:
    """(openid, form fields) of a POST whose CSRF token is the session's."""
    openid, token = wx_auth.openid_or_login(request)
    form = {k: str(v) for k, v in (await request.post()).items() if isinstance(v, str)}
    wx_auth.check_csrf(form.get("csrf", ""), token)
    return openid, form


def _id(form: dict[str, str], name: str) -> int:
    value = parse_id(form.get(name, ""))
    if value is None:
        raise UserError("请求有误，请返回刷新后重试。")
    return value


async def home(request: web.Request) -> web.StreamResponse:
    openid, token = wx_auth.openid_or_login(request)
    async with request.app[RESOURCES].db() as db:
        mine = await choices.residents_of(db, openid)
        rows = [(m, await choices.topics(db, m.resident.id or 0)) for m in mine]
    return page(request, "home.html", rows=rows, csrf=token, saved=request.query.get("saved"))


async def _mine(db: Any, openid: str, resident_id: int) -> choices.Mine:
    found = await choices.mine(db, openid, resident_id)
    if found is None:
        raise NotFound("没有找到这位居民的绑定。")
    return found


async def save_topic(request: web.Request) -> web.StreamResponse:
    openid, form = await _form(request)
    async with transaction(request.app[RESOURCES].db) as db:
        m = await _mine(db, openid, _id(form, "resident_id"))
        await choices.set_topic(
            db, m.resident.id or 0, _id(form, "topic_id"), form.get("on") == "1"
        )
    raise web.HTTPSeeOther("/wx/?saved=1")


async def save_channels(request: web.Request) -> web.StreamResponse:
    openid, form = await _form(request)
    wechat, sms = form.get("wechat") == "on", form.get("sms") == "on"
    async with transaction(request.app[RESOURCES].db) as db:
        m = await _mine(db, openid, _id(form, "resident_id"))
        await choices.set_channels(db, m.resident, wechat=wechat, sms=sms)
        detail = {"wechat": wechat, "sms": sms}
        target = f"resident:{m.resident.id}"
        record(db, actor=binding.actor(openid), action="wx.channels", target=target, detail=detail)
    raise web.HTTPSeeOther("/wx/?saved=1")


async def bind_page(request: web.Request, **extra: Any) -> web.StreamResponse:
    openid, token = wx_auth.openid_or_login(request)
    async with request.app[RESOURCES].db() as db:
        try:
            region = await binding.follower_region(db, openid)
        except UserError:
            region = None
        rows = await binding.bindings_of(db, openid)
    extra = {"sent": "", "result": ""} | extra
    return page(request, "bind.html", csrf=token, region=region, bindings=rows, **extra)


async def bind_code(request: web.Request) -> web.StreamResponse:
    openid, form = await _form(request)
    resources, settings = request.app[RESOURCES], request.app[SETTINGS]
    req = binding.Request(
        openid=openid,
        name=form.get("name", ""),
        phone=form.get("phone", ""),
        proxy=form.get("proxy") == "on",
        address=client_address(request, settings.trusted_proxies),
    )
    sms = resources.channels.get(ChannelKind.SMS)
    if sms is None:
        raise UserError("短信通道未配置，暂时无法绑定。")
    await binding.send_code(resources.db, sms, req, settings)
    return await bind_page(request, sent=mask_phone(req.phone.strip()))


async def bind_confirm(request: web.Request) -> web.StreamResponse:
    openid, form = await _form(request)
    resources = request.app[RESOURCES]
    done = await binding.confirm(resources.db, openid, form.get("code", ""), request.app[SETTINGS])
    return await bind_page(request, result=done.status)


async def notices(request: web.Request) -> web.StreamResponse:
    openid, _ = wx_auth.openid_or_login(request)
    q = request.query.get("q", "")[:50]
    async with request.app[RESOURCES].db() as db:
        mine = await choices.residents_of(db, openid)
        rows = await choices.notices(db, mine, search=q)
    return page(request, "notices.html", rows=rows, q=q)


async def contact_page(request: web.Request) -> web.StreamResponse:
    _, token = wx_auth.openid_or_login(request)
    return page(request, "contact.html", csrf=token, sent=request.query.get("sent"))


async def contact(request: web.Request) -> web.StreamResponse:
    openid, form = await _form(request)
    text = form.get("text", "").strip()
    if not text or len(text) > 500:
        raise UserError("请填写留言（500 字以内）。")
    async with transaction(request.app[RESOURCES].db) as db:
        await seen(db, openid)
        await messages.take(
            db, channel="wechat", sender=openid, text=text, wx=request.app[SETTINGS].wx
        )
    raise web.HTTPSeeOther("/wx/contact?sent=1")


def setup_wx(app: web.Application) -> None:
    """Register the ``/wx/`` pages, their templates and the session's key."""
    app[wx_auth.WX_FERNET] = wx_auth.make_fernet(app[SETTINGS].secret_key.get_secret_value())
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(HERE)),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
        filters={"localtime": localtime},
        app_key=WX_JINJA,
    )
    get, post = app.router.add_get, app.router.add_post
    get("/wx/login", guarded(wx_auth.login))
    get("/wx/oauth", guarded(wx_auth.oauth))
    get("/wx/", guarded(home))
    post("/wx/topics", guarded(save_topic))
    post("/wx/channels", guarded(save_channels))
    get("/wx/bind", guarded(bind_page))
    post("/wx/bind/code", guarded(bind_code))
    post("/wx/bind/confirm", guarded(bind_confirm))
    get("/wx/notices", guarded(notices))
    get("/wx/contact", guarded(contact_page))
    post("/wx/contact", guarded(contact))
