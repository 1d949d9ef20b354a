"""User administration (administrators): create, assign regions, reset password, API token,
duty officer (值班) flag. A password reset ends the user's console sessions."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.console.base import ROLE_NAMES, Viewer, audit, deny, render, viewer
from pusher.console.passwords import hash_async, password_problem
from pusher.console.session import get_session
from pusher.db import transaction
from pusher.errors import InvalidInput, NotFound
from pusher.models import Region, RegionKind, Role, User, UserRegion, utcnow
from pusher.staff.contacts import set_contact
from pusher.web.auth import hash_token, new_token
from pusher.web.keys import RESOURCES
from pusher.web.params import int_param, parse_id


async def _admin(request: web.Request) -> Viewer:
    me = await viewer(request)
    if me.role != Role.ADMIN:
        await deny(request, me, target=request.path, why="role")
    return me


async def _page(request: web.Request, me: Viewer, **extra: Any) -> web.Response:
    async with request.app[RESOURCES].db() as db:
        users = (await db.scalars(select(User).order_by(User.id))).all()
        # the tree, indented (town → village → grid), for choosing a user's regions
        regions = [
            (rid, "　" * max(path.count("/") - 3, 0) + name)
            for rid, name, path in await db.execute(
                select(Region.id, Region.name, Region.path)
                .where(Region.kind != RegionKind.COUNTY, Region.active.is_(True))
                .order_by(Region.path)
            )
        ]
        assigned: dict[int, list[int]] = {}
        for uid, rid in await db.execute(select(UserRegion.user_id, UserRegion.region_id)):
            assigned.setdefault(uid, []).append(rid)
    return await render(
        request,
        "users.html",
        me,
        users=users,
        regions=regions,
        assigned=assigned,
        role_names=ROLE_NAMES,
        **extra,
    )


async def users_page(request: web.Request) -> web.Response:
    return await _page(request, await _admin(request))


def _regions(form: Any) -> list[int]:
    return [i for v in form.getall("regions", []) if (i := parse_id(str(v))) is not None]


async def _set_regions(db: AsyncSession, uid: int, regions: list[int]) -> None:
    await db.execute(delete(UserRegion).where(UserRegion.user_id == uid))
    db.add_all(UserRegion(user_id=uid, region_id=rid) for rid in regions)


async def user_create(request: web.Request) -> web.Response:
    me = await _admin(request)
    form = await request.post()
    username = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    try:
        role = Role(str(form.get("role", "")))
    except ValueError:
        raise InvalidInput("请选择角色。") from None
    problem = password_problem(password) or ("" if username else "请填写用户名")
    async with transaction(request.app[RESOURCES].db) as db:
        if not problem and await db.scalar(select(User.id).where(User.username == username)):
            problem = f"用户名「{username}」已存在"
        if problem:
            return await _page(request, me, error=problem)
        user = User(
            username=username,
            display_name=str(form.get("display_name", "")).strip(),
            role=role,
            password_hash=await hash_async(password),
            duty_officer=form.get("duty_officer") == "on",
        )
        db.add(user)
        await db.flush()
        await _set_regions(db, user.id or 0, _regions(form))
        await audit(db, me, "user.create", f"user:{username}", role=role.value)
    raise web.HTTPFound("/users")


def _contact(user: User, form: Any) -> dict[str, object]:
    """待办提醒: phone, openid and the user's consent from the form."""
    return set_contact(
        user,
        phone=str(form.get("phone", ""))[:40],
        openid=str(form.get("openid", ""))[:80],
        consent=form.get("notify_consent") == "on",
        now=utcnow(),
    )


async def user_update(request: web.Request) -> web.Response:
    """One of: reset the password, set regions, new API token (shown once), (de)activate."""
    me = await _admin(request)
    form = await request.post()
    action = str(form.get("action", ""))
    token, changed = None, {}
    async with transaction(request.app[RESOURCES].db) as db:
        user = await db.get(User, int_param(request, "user_id"))
        if user is None:
            raise NotFound("用户不存在。")
        if action == "password":
            problem = password_problem(str(form.get("password", "")))
            if problem:
                return await _page(request, me, error=problem)
            user.password_hash = await hash_async(str(form.get("password", "")))
            user.session_version += 1
            if user.id == me.user.id:  # keep this session, end the others
                get_session(request)["ver"] = user.session_version
        elif action == "duty":
            user.duty_officer = not user.duty_officer
        elif action == "regions":
            await _set_regions(db, user.id or 0, _regions(form))
        elif action == "token":
            token = new_token()
            user.api_token_hash = hash_token(token)
        elif action == "active":
            user.active = not user.active
        elif action == "contact":
            try:
                changed = _contact(user, form)
            except InvalidInput as exc:
                return await _page(request, me, error=exc.message)
        await audit(db, me, "user.update", f"user:{user.username}", change=action, **changed)
    if token:
        return await _page(request, me, token=token, token_user=user.username)
    raise web.HTTPFound("/users")
