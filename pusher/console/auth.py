"""Signing in and out, with throttling of wrong passwords per username and address."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.audit import record
from pusher.console.base import render
from pusher.console.passwords import verify_password
from pusher.console.session import get_session, new_session
from pusher.db import transaction
from pusher.models import AuditLog, User, utcnow
from pusher.web.keys import RESOURCES

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
FAILED = "login.failed"


def _next(raw: str | None) -> str:
    """Only local paths, so the login page cannot bounce users to another site."""
    if raw and raw.startswith("/") and not raw.startswith("//"):
        return raw
    return "/"


async def login_page(request: web.Request) -> web.Response:
    return await render(request, "login.html", None, next=_next(request.query.get("next")))


async def _failures(db: AsyncSession, key: str) -> int:
    since = utcnow() - WINDOW
    count = await db.scalar(
        select(func.count())
        .select_from(AuditLog)
        .where(AuditLog.action == FAILED, AuditLog.target == key, AuditLog.at >= since)
    )
    return int(count or 0)


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    username = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    target = _next(str(form.get("next", "")))
    key = f"{username}@{request.remote or '?'}"
    async with transaction(request.app[RESOURCES].db) as db:
        if await _failures(db, key) >= MAX_FAILURES:
            record(db, actor=username, action="login.locked", target=key)
            message = f"登录失败次数过多，账户已临时锁定，请 {WINDOW.seconds // 60} 分钟后再试。"
            return await _again(request, username, target, message, 429)
        user = await db.scalar(select(User).where(User.username == username))
        if user is None or not user.active or not verify_password(user.password_hash, password):
            record(db, actor=username, action=FAILED, target=key)
            left = MAX_FAILURES - await _failures(db, key)
            return await _again(request, username, target, _wrong(left), 401)
        record(db, actor=username, action="login", target=key)
    session = new_session(request)
    session["uid"] = user.id
    raise web.HTTPFound(target)


def _wrong(left: int) -> str:
    if left <= 0:
        return "用户名或密码不正确。失败次数过多，账户已临时锁定 15 分钟。"
    return f"用户名或密码不正确（再错 {left} 次将临时锁定 15 分钟）。"


async def _again(
    request: web.Request, username: str, target: str, message: str, status: int
) -> web.Response:
    return await render(
        request, "login.html", None, status=status, next=target, username=username, error=message
    )


async def logout(request: web.Request) -> web.Response:
    session = get_session(request)
    uid = session.get("uid")
    if isinstance(uid, int):
        async with transaction(request.app[RESOURCES].db) as db:
            user = await db.get(User, uid)
            record(db, actor=user.username if user else str(uid), action="logout")
    session.invalidate()
    raise web.HTTPFound("/login")
