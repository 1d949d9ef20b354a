"""API authentication: per-user bearer tokens, stored hashed, checked against roles."""

from __future__ import annotations

import hashlib
import secrets

from aiohttp import web
from sqlalchemy import select

from pusher.errors import Forbidden, UserError
from pusher.models import Role, User
from pusher.web.keys import RESOURCES


class Unauthorized(UserError):
    status = 401


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "psh_" + secrets.token_urlsafe(32)


async def require(request: web.Request, *roles: Role) -> User:
    """The user behind the request's bearer token, if their role is one of ``roles``."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("需要登录：请在 Authorization 头中提供 Bearer 令牌")
    async with request.app[RESOURCES].db() as session:
        user = await session.scalar(
            select(User).where(User.api_token_hash == hash_token(token.strip()))
        )
    if user is None or not user.active:
        raise Unauthorized("令牌无效或账户已停用")
    if roles and user.role != Role.ADMIN and user.role not in roles:
        raise Forbidden(f"角色「{user.role}」无权执行此操作")
    return user
