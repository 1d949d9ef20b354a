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

Page = tuple[str, str, tuple[Role, ...]]  # href, label, roles (admins see every page)

#: the navigation bar: daily work only, so it stays within two rows on a phone
NAV: tuple[Page, ...] = (
    ("/", "首页", (*STAFF, Role.GRID_WORKER)),
    ("/items", "信息发布", STAFF),
    ("/deliveries", "推送记录", (*STAFF, Role.GRID_WORKER)),
    ("/followup", "未送达跟进", (Role.GRID_WORKER,)),
    ("/residents", "居民", (Role.GRID_WORKER,)),
    ("/messages", "居民留言", (*STAFF, Role.GRID_WORKER)),
    ("/reports/monthly", "报表", STAFF),
    ("/due", "公开时限", STAFF),
)
#: the town's structure and the tools behind one 设置 entry (the /settings page)
SETTINGS: tuple[tuple[str, str, tuple[Role, ...], str], ...] = (
    ("/regions", "区域", (), "县、镇、村（社区）、网格及其区划代码；导入、改名、停用"),
    ("/topics", "订阅领域", STAFF, "居民可订阅的领域，含本镇自设的领域及其关键词"),
    ("/groups", "推送对象", STAFF, "按区域、领域、标签或名单划分的推送对象及其规则"),
    ("/rules", "推送规则", STAFF, "信息匹配推送对象的规则一览"),
    ("/chats", "群聊", (*STAFF, Role.GRID_WORKER), "村、网格的群聊机器人：登记、测试、停用"),
    ("/users", "用户", (), "工作人员账号、角色和负责的区域"),
    ("/posters", "关注二维码", (*STAFF, Role.GRID_WORKER), "居民关注和绑定用的二维码海报"),
    ("/sms-templates", "短信模板", STAFF, "短信账户审核通过的模板、用途、变量上限及检查结果"),
    ("/sandbox", "模拟收件箱", STAFF, "不发真消息时，各渠道本应发出的内容"),
    ("/audit", "操作日志", (), "谁在何时做了什么"),
)
SETTINGS_HREF = "/settings"
#: entries for exactly these roles (an administrator's bar stays short)
OWN_NAV: tuple[Page, ...] = (("/relay", "转发清单", (Role.GRID_WORKER,)),)


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
        pages = [(href, label) for href, label, roles in NAV if self.can(*roles)]
        pages += [(href, label) for href, label, roles in OWN_NAV if self.role in roles]
        return pages + ([(SETTINGS_HREF, "设置")] if self.settings() else [])

    def settings(self) -> list[tuple[str, str, str]]:
        """The pages behind 设置 this viewer may open: href, label, what it is for."""
        return [(href, label, hint) for href, label, roles, hint in SETTINGS if self.can(*roles)]

    def section(self, path: str) -> str:
        """The navigation entry ``path`` belongs to (a settings page: 设置)."""
        pages = (SETTINGS_HREF, *(href for href, *_ in SETTINGS))
        if any(path == href or path.startswith(href + "/") for href in pages):
            return SETTINGS_HREF
        found = [
            h for h, _l, _r in NAV + OWN_NAV if path == h or (h != "/" and path.startswith(h))
        ]
        return max(found, key=len, default="")


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
