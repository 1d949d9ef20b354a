"""The first run: on a database without an administrator, create the first one and the
town (with its county when given), in one transaction.

Only while no administrator exists: the check and the insert run under a lock
(PostgreSQL: a transaction-scoped advisory lock; SQLite: its single writer), so two
simultaneous setups cannot both create one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.console.accounts import set_user
from pusher.errors import Conflict, InvalidInput
from pusher.models import Region, Role, User
from pusher.town.regions import RegionIn, create_region

SETUP_LOCK = 19_001  # advisory lock key (PostgreSQL)
MAX_USERNAME = 64
USERNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.-")


@dataclass(frozen=True)
class SetupIn:
    username: str
    password: str
    display_name: str
    town_name: str
    town_code: str
    county_name: str = ""
    county_code: str = ""


async def needs_setup(session: AsyncSession) -> bool:
    """True while no administrator exists, active or not (the setup page is open only
    then: deactivating the last administrator must not reopen it)."""
    admin = exists().where(User.role == Role.ADMIN)
    return not bool(await session.scalar(select(admin)))


def _username(raw: str) -> str:
    name = raw.strip().lower()
    if not name or len(name) > MAX_USERNAME or not set(name) <= USERNAME_CHARS:
        raise InvalidInput(
            "用户名只能由小写字母、数字和 _ . - 组成，不超过 64 位。", field="username"
        )
    return name


async def run_setup(session: AsyncSession, data: SetupIn) -> User:
    """Create the first administrator and the town; Conflict once one exists."""
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SETUP_LOCK})
    if not await needs_setup(session):
        raise Conflict("系统已有管理员，初始设置已关闭。请用管理员账号登录。")
    username = _username(data.username)
    parent = None
    if data.county_code.strip():
        county = await _ensure(session, RegionIn(data.county_name or "县", data.county_code, None))
        parent = county.code
    await _ensure(session, RegionIn(data.town_name, data.town_code, parent))
    return await set_user(
        session,
        username=username,
        role=Role.ADMIN,
        password=data.password,
        display_name=data.display_name.strip()[:64],
        actor="setup",
    )


async def _ensure(session: AsyncSession, data: RegionIn) -> Region:
    """The region with this code (a setup run again after an error), else a new one."""
    code = data.code.strip()
    if not code:
        raise InvalidInput("请填写乡镇（街道）的统计用区划代码。", field="town_code")
    found = await session.scalar(select(Region).where(Region.code == code))
    return found if found is not None else await create_region(session, data)
