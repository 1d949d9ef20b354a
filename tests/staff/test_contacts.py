"""Console users' 待办提醒 contact and consent: kept from the user page and from
``pusher user set``, checked (a 4xx-free page with a Chinese sentence for a bad number),
and withdrawn consent means no notice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from pusher.cli.commands import set_user
from pusher.cli.main import _parser
from pusher.models import AuditLog, User
from pusher.runtime.resources import open_resources
from pusher.settings import Settings
from pusher.staff.waiting import contacts
from tests.console.test_console import PASSWORD, Console, _console, db_of
from tests.spine.conftest import start


@pytest.fixture
async def console(sqlite_settings: Settings) -> AsyncIterator[Console]:
    async for console in _console(sqlite_settings):
        yield console


async def _user(console: Console, username: str) -> User:
    async with db_of(console)() as db:
        user = await db.scalar(select(User).where(User.username == username))
    assert user is not None
    return user


async def test_admin_keeps_a_reviewers_phone_and_consent(console: Console) -> None:
    await console.login("admin")
    reviewer = await _user(console, "reviewer")
    form = {"action": "contact", "phone": "139 0000 0031", "openid": "", "notify_consent": "on"}
    await console.post(f"/users/{reviewer.id}", form)
    saved = await _user(console, "reviewer")
    assert saved.phone == "13900000031" and saved.notify_consent_at is not None
    page = await (await console.client.get("/users")).text()
    assert 'value="13900000031"' in page and "本人同意通过微信或短信接收待办提醒" in page
    bad = await console.post(f"/users/{reviewer.id}", {**form, "phone": "12345"})
    assert bad.status == 200  # type: ignore[attr-defined]
    assert "手机号码应为 11 位数字" in await bad.text()  # type: ignore[attr-defined]
    assert (await _user(console, "reviewer")).phone == "13900000031"  # unchanged
    await console.post(f"/users/{reviewer.id}", {**form, "notify_consent": ""})
    assert (await _user(console, "reviewer")).notify_consent_at is None
    async with db_of(console)() as db:
        assert [u.username for u in await contacts(db)] == []
        details = [a.detail for a in await db.scalars(select(AuditLog)) if "has_phone" in a.detail]
    assert details and all("13900000031" not in str(d) for d in details)


async def test_user_set_takes_phone_openid_and_consent(sqlite_settings: Settings) -> None:
    await start(sqlite_settings, residents=5)

    async def user_set(*extra: str) -> int:
        argv = ["user", "set", "leader", "--role", "leader", "--password", PASSWORD, *extra]
        parsed = _parser().parse_args(argv)
        return await asyncio.to_thread(
            set_user, sqlite_settings, parsed.username, role=parsed.role,
            password=parsed.password, name=parsed.name, regions=parsed.region,
            phone=parsed.phone, openid=parsed.openid, notify=parsed.notify,
        )  # fmt: skip

    openid = "oLeaderOpenid000000001"
    assert await user_set("--phone", "13900000041", "--notify") == 0
    assert await user_set("--openid", openid) == 0  # consent and phone stay
    async with open_resources(sqlite_settings) as r, r.db() as db:
        told = await contacts(db)
    assert [(u.phone, u.openid) for u in told] == [("13900000041", openid)]
    assert await user_set("--phone", "1390000") == 2
    assert await user_set("--no-notify") == 0
    async with open_resources(sqlite_settings) as r, r.db() as db:
        assert await contacts(db) == []
