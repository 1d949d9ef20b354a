"""Signing in and out, with throttling of attempts per username and per client address.

Every login runs argon2 (against a dummy hash for unknown or disabled users), in a
thread, so neither the answer's timing nor a blocked event loop tells usernames apart.
Logging out raises the user's ``session_version``, which ends every copy of the cookie.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy import select

from pusher.audit import record
from pusher.console.base import render
from pusher.console.passwords import verify_async
from pusher.console.session import VERSION, get_session, new_session
from pusher.console.setup_page import setup_open
from pusher.console.throttle import THROTTLE, WINDOW_SECONDS
from pusher.db import transaction
from pusher.models import User
from pusher.web.clients import client_address
from pusher.web.keys import RESOURCES, SETTINGS

FAILED = "login.failed"
MAX_USERNAME = 64
MAX_PASSWORD = 1024
LOCKED = f"登录失败次数过多，已临时锁定，请 {WINDOW_SECONDS // 60} 分钟后再试。"


def _next(raw: str | None) -> str:
    """Only same-origin paths, so the login page cannot bounce users to another site.

    A path starts with one ``/`` (not ``//``), has no backslash (browsers read ``/\\x``
    as ``//x``), no control characters, and parses without a scheme or host.
    """
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return "/"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        return "/"
    parts = urlsplit(raw)
    return "/" if parts.scheme or parts.netloc else raw


async def login_page(request: web.Request) -> web.Response:
    if await setup_open(request):  # an empty database: the first administrator first
        raise web.HTTPFound("/setup")
    return await render(request, "login.html", None, next=_next(request.query.get("next")))


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    username = str(form.get("username", "")).strip()[:MAX_USERNAME]
    password = str(form.get("password", ""))[:MAX_PASSWORD]
    target = _next(str(form.get("next", "")))
    address = client_address(request, request.app[SETTINGS].trusted_proxies)
    key = f"{username}@{address}"
    throttle = request.app[THROTTLE]
    attempt = await throttle.attempt(username, address)
    db = request.app[RESOURCES].db
    if not attempt.allowed:
        async with transaction(db) as session:
            record(session, actor=username, action="login.locked", target=key)
        return await _again(request, username, target, LOCKED, 429)
    async with db() as session:
        user = await session.scalar(select(User).where(User.username == username))
    stored = user.password_hash if user is not None and user.active else None
    ok = await verify_async(stored, password)  # argon2 for unknown users too
    if not ok or user is None:
        async with transaction(db) as session:
            record(session, actor=username, action=FAILED, target=key)
        return await _again(request, username, target, _wrong(attempt.left), 401)
    await throttle.succeeded(username, address)
    async with transaction(db) as session:
        record(session, actor=username, action="login", target=key)
    fresh = new_session(request)
    fresh["uid"] = user.id
    fresh[VERSION] = user.session_version
    raise web.HTTPFound(target)


def _wrong(left: int) -> str:
    if left <= 0:
        return "用户名或密码不正确。失败次数过多，已临时锁定 15 分钟。"
    return f"用户名或密码不正确（再错 {left} 次将临时锁定 15 分钟）。"


async def _again(
    request: web.Request, username: str, target: str, message: str, status: int
) -> web.Response:
    return await render(
        request, "login.html", None, status=status, next=target, username=username, error=message
    )


async def logout(request: web.Request) -> web.Response:
    """End this session and every other of the same user (their version goes up)."""
    session = get_session(request)
    uid = session.get("uid")
    if isinstance(uid, int):
        async with transaction(request.app[RESOURCES].db) as db:
            user = await db.get(User, uid)
            if user is not None and session.get(VERSION) == user.session_version:
                user.session_version += 1
            record(db, actor=user.username if user else str(uid), action="logout")
    session.invalidate()
    raise web.HTTPFound("/login")
