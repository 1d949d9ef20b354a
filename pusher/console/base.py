"""What every console page needs: the signed-in viewer, role checks, rendering, denial."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.audit import record
from pusher.console.csrf import csrf_token
from pusher.console.session import VERSION, get_session
from pusher.db import transaction
from pusher.errors import Forbidden
from pusher.models import Role, User
from pusher.privacy import mask_phone, sees_full
from pusher.web.keys import RESOURCES
from pusher.web.params import parse_int
from pusher.web.scope import scope_of

ROLE_NAMES = {
    Role.ADMIN: "管理员",
    Role.PUBLISHER: "信息发布员",
    Role.REVIEWER: "审核人",
    Role.LEADER: "主管领导",
    Role.GRID_WORKER: "网格员",
}
STAFF = (Role.PUBLISHER, Role.REVIEWER, Role.LEADER)

NAV: tuple[tuple[str, str, tuple[Role, ...]], ...] = (
    ("/", "首页", (*STAFF, Role.GRID_WORKER)),
    ("/items", "信息发布", STAFF),
    ("/deliveries", "推送记录", (*STAFF, Role.GRID_WORKER)),
    ("/followup", "未送达跟进", (Role.GRID_WORKER,)),
    ("/residents", "居民", (Role.GRID_WORKER,)),
    ("/messages", "居民留言", (*STAFF, Role.GRID_WORKER)),
    ("/posters", "关注二维码", (*STAFF, Role.GRID_WORKER)),
    ("/rules", "推送规则", STAFF),
    ("/groups", "推送对象", STAFF),
    ("/topics", "订阅领域", STAFF),
    ("/chats", "群聊", (*STAFF, Role.GRID_WORKER)),
    ("/regions", "区域", ()),
    ("/reports/monthly", "报表", STAFF),
    ("/due", "公开时限", STAFF),
    ("/sandbox", "模拟收件箱", STAFF),
    ("/audit", "操作日志", ()),
    ("/users", "用户", ()),
)


@dataclass(frozen=True)
class Viewer:
    """The signed-in user and the region ids they may see (None: everything)."""

    user: User
    scope: frozenset[int] | None

    @property
    def name(self) -> str:
        return self.user.username

    @property
    def role(self) -> str:
        return self.user.role

    def can(self, *roles: Role) -> bool:
        return self.user.role == Role.ADMIN or self.user.role in roles

    def phone(self, phone: str | None) -> str:
        """The phone as this viewer may see it: whole for admins and grid workers."""
        if sees_full(self.user.role):
            return phone or ""
        return mask_phone(phone)

    def nav(self) -> list[tuple[str, str]]:
        return [(href, label) for href, label, roles in NAV if self.can(*roles)]


async def viewer(request: web.Request, *roles: Role) -> Viewer:
    """The signed-in user (redirect to the login page if none) holding one of ``roles``."""
    session = get_session(request)
    uid = session.get("uid")
    if not isinstance(uid, int):
        raise web.HTTPFound(f"/login?next={quote(request.path_qs)}")
    async with request.app[RESOURCES].db() as db:
        user = await db.get(User, uid)
        # a session of an older version ended with a logout or a password change
        if user is None or not user.active or session.get(VERSION) != user.session_version:
            session.invalidate()
            raise web.HTTPFound("/login")
        scope = await scope_of(db, user)
    me = Viewer(user, scope)
    if roles and not me.can(*roles):
        await deny(request, me, target=request.path, why="role")
    return me


async def deny(request: web.Request, me: Viewer, *, target: str, why: str) -> None:
    """Record a refused access in the audit log, then answer 403."""
    async with transaction(request.app[RESOURCES].db) as db:
        await audit(db, me, "access.denied", target, why=why, path=request.path_qs)
    if why == "role":
        raise Forbidden(f"你的角色（{ROLE_NAMES.get(Role(me.role), me.role)}）不能使用这个页面。")
    raise Forbidden("这不在你负责的网格内，无权查看或修改。此次访问已记入操作日志。")


async def audit(db: AsyncSession, me: Viewer, action: str, target: str, **detail: Any) -> None:
    """Add an audit row for ``me`` to the caller's transaction."""
    record(db, actor=me.name, action=action, target=target, detail=detail)


async def render(
    request: web.Request, name: str, me: Viewer | None, *, status: int = 200, **context: Any
) -> web.Response:
    """Render ``name`` with the viewer, navigation and CSRF token filled in."""
    context.update(me=me, csrf=await csrf_token(request), roles=ROLE_NAMES, path=request.path)
    return aiohttp_jinja2.render_template(name, request, context, status=status)


def page_number(request: web.Request) -> int:
    """The ``page`` query parameter (1-based), 1 when missing or not a number."""
    raw = request.query.get("page", "1")
    return parse_int(raw, low=1, high=1_000_000) or 1  # OFFSET stays within 64 bits
