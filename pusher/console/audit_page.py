"""The audit log page (administrators): who did what, when."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from pusher.console.base import deny, page_number, render, viewer
from pusher.models import AuditLog
from pusher.web.keys import RESOURCES

PAGE = 100
ACTIONS = {
    "login": "登录",
    "login.failed": "登录失败",
    "login.locked": "登录被锁定",
    "logout": "退出",
    "access.denied": "越权访问被拒绝",
    "item.save": "保存信息",
    "item.submit": "提交审查",
    "item.review.staff": "保密审查",
    "item.review.leader": "领导审批",
    "item.review.urgent": "紧急审批",
    "rules.change": "修改规则",
    "deliveries.export": "导出推送记录",
    "deliveries.retry": "重发失败记录",
    "followup.confirm": "已当面告知",
    "resident.save": "保存居民",
    "residents.import": "导入居民",
    "residents.export": "导出居民",
    "user.create": "创建用户",
    "user.update": "修改用户",
}


async def audit_list(request: web.Request) -> web.Response:
    me = await viewer(request)
    if not me.can():
        await deny(request, me, target=request.path, why="role")
    action = request.query.get("action", "")
    actor = request.query.get("actor", "").strip()
    page = page_number(request)
    query = select(AuditLog).order_by(AuditLog.id.desc())
    if action:
        query = query.where(AuditLog.action == action)
    if actor:
        query = query.where(AuditLog.actor == actor)
    async with request.app[RESOURCES].db() as db:
        rows = (await db.scalars(query.limit(PAGE).offset((page - 1) * PAGE))).all()
    return await render(
        request, "audit.html", me, rows=rows, actions=ACTIONS, action=action, actor=actor, page=page
    )
