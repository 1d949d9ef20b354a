"""Creating console users outside the web (the first administrator, the demo's users)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.audit import record
from pusher.console.passwords import hash_async, password_problem
from pusher.errors import InvalidInput
from pusher.models import Region, Role, User, UserRegion, utcnow
from pusher.staff.contacts import set_contact


async def set_user(
    session: AsyncSession,
    *,
    username: str,
    role: Role,
    password: str,
    display_name: str = "",
    region_codes: Iterable[str] = (),
    duty_officer: bool = False,
    actor: str = "cli",
    phone: str | None = None,
    openid: str | None = None,
    notify: bool | None = None,
) -> User:
    """Create ``username`` or reset their role, password, regions and duty flag (idempotent).

    A reset ends the user's console sessions (their ``session_version`` goes up).

    ``phone``, ``openid`` and ``notify`` (the user's consent to 待办提醒) change only
    when given ("" clears a number or openid).

    Raises :class:`InvalidInput` for a weak password, an unknown region code or a
    malformed phone number or openid.
    """
    problem = password_problem(password)
    if problem:
        raise InvalidInput(problem, field="password")
    user = await session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username, role=role)
        session.add(user)
    user.role, user.password_hash, user.active = role, await hash_async(password), True
    user.duty_officer = duty_officer
    user.session_version = (user.session_version or 0) + 1
    user.display_name = display_name or user.display_name
    contact: dict[str, object] = {}
    if (phone, openid, notify) != (None, None, None):
        contact = set_contact(
            user,
            phone=user.phone if phone is None else phone,
            openid=user.openid if openid is None else openid,
            consent=user.notify_consent_at is not None if notify is None else notify,
            now=utcnow(),
        )
    await session.flush()
    codes = list(region_codes)
    ids = (await session.scalars(select(Region.id).where(Region.code.in_(codes)))).all()
    if len(ids) != len(set(codes)):
        raise InvalidInput("有未知的地区代码", field="regions")
    await session.execute(delete(UserRegion).where(UserRegion.user_id == user.id))
    session.add_all(UserRegion(user_id=user.id or 0, region_id=rid) for rid in ids)
    record(
        session,
        actor=actor,
        action="user.create",
        target=f"user:{username}",
        detail={"role": role.value, "duty_officer": duty_officer, **contact},
    )
    return user
