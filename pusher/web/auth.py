"""API authentication and authorization: per-user bearer tokens, roles, grid scope.

Who may call what (admins may call everything):

| what | roles |
| --- | --- |
| create, edit, submit items | publisher |
| review items | reviewer (staff check), leader (approval); who may take which step is
  :func:`pusher.pipeline.review.refusal`'s |
| read items, previews | publisher, reviewer, leader |
| read pushes and deliveries | publisher, reviewer, leader, grid worker (own regions only) |

A grid worker's scope is the console's (:func:`pusher.web.scope.scope_of`): the
regions assigned to them and everything under them. Every refusal of a signed-in user is
written to the audit log.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import NoReturn

from aiohttp import web
from sqlalchemy import select

from pusher.audit import record
from pusher.db import transaction
from pusher.errors import Forbidden, UserError
from pusher.models import Role, User
from pusher.web.keys import RESOURCES
from pusher.web.scope import scope_of

WRITE_ITEMS = (Role.PUBLISHER,)
REVIEW_ITEMS = (Role.REVIEWER, Role.LEADER)
READ_ITEMS = (Role.PUBLISHER, Role.REVIEWER, Role.LEADER)
READ_DELIVERIES = (Role.PUBLISHER, Role.REVIEWER, Role.LEADER, Role.GRID_WORKER)
OUTSIDE = "这不在你负责的网格内，无权查看。此次访问已记入操作日志。"


class Unauthorized(UserError):
    status = 401


@dataclass(frozen=True)
class Caller:
    """The user behind a request and the region ids they may see (None: every region)."""

    user: User
    scope: frozenset[int] | None

    def sees(self, region_id: int | None) -> bool:
        """True when a row in ``region_id`` is inside this caller's scope."""
        return self.scope is None or (region_id is not None and region_id in self.scope)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "psh_" + secrets.token_urlsafe(32)


async def require(request: web.Request, *roles: Role) -> User:
    """The user behind the request's bearer token, if their role is one of ``roles``.

    No ``roles`` means any signed-in user; admins pass every check.
    """
    return (await caller(request, *roles)).user


async def caller(request: web.Request, *roles: Role) -> Caller:
    """Like :func:`require`, with the caller's region scope."""
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
        scope = await scope_of(session, user)
    me = Caller(user, scope)
    if roles and user.role != Role.ADMIN and user.role not in roles:
        await _audit_denial(request, me, target=request.path, why="role")
        raise Forbidden(f"角色「{user.role}」无权执行此操作")
    return me


async def refuse(request: web.Request, me: Caller, *, target: str) -> NoReturn:
    """Record that ``me`` asked for ``target`` outside their regions, then answer 403."""
    await _audit_denial(request, me, target=target, why="scope")
    raise Forbidden(OUTSIDE)


async def _audit_denial(request: web.Request, me: Caller, *, target: str, why: str) -> None:
    detail = {"why": why, "path": request.path_qs, "method": request.method, "via": "api"}
    async with transaction(request.app[RESOURCES].db) as session:
        record(
            session, actor=me.user.username, action="access.denied", target=target, detail=detail
        )
