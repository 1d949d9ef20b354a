"""First run on an empty database: the setup page creates the first administrator and
names the town, then closes for good; the administrator imports the villages and grids
from a spreadsheet (a bad file: a row-level report, nothing written)."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient, TestServer
from openpyxl import Workbook
from sqlalchemy import func, select

from pusher.models import AuditLog, Region, User
from pusher.ops.migrate import upgrade
from pusher.settings import Settings
from pusher.web.app import create_app
from pusher.web.keys import RESOURCES

Client = TestClient[object, object]
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
PASSWORD = "a-long-password-1"
SETUP = {
    "username": "zhangsan",
    "display_name": "张三",
    "password": PASSWORD,
    "password2": PASSWORD,
    "town_name": "青山镇",
    "town_code": "360123101000",
    "county_name": "示范县",
    "county_code": "360123000000",
}


@pytest.fixture
async def client(sqlite_settings: Settings) -> AsyncIterator[Client]:
    await asyncio.to_thread(upgrade, sqlite_settings.database_url.get_secret_value())
    c: Client = TestClient(TestServer(create_app(sqlite_settings)))
    await c.start_server()
    yield c
    await c.close()


async def token(client: Client, path: str = "/setup") -> str:
    page = await (await client.get(path)).text()
    found = CSRF.search(page)
    assert found, page[:300]
    return found.group(1)


async def count(client: Client, model: type) -> int:
    async with client.server.app[RESOURCES].db() as db:
        return int(await db.scalar(select(func.count()).select_from(model)) or 0)


def sheet(rows: list[tuple[str, str, str]]) -> bytes:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["代码", "名称", "上级代码", "备注"])
    for row in rows:
        ws.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def upload(client: Client, data: bytes) -> tuple[int, str]:
    form = FormData()
    form.add_field("csrf", await token(client, "/regions"))
    form.add_field("file", data, filename="区划.xlsx")
    resp = await client.post("/regions/import", data=form)
    return resp.status, await resp.text()


async def test_an_empty_database_opens_the_setup_page(client: Client) -> None:
    resp = await client.get("/", allow_redirects=True)
    assert resp.url.path == "/setup"
    assert "创建管理员" in await resp.text()
    assert "pusher user set" in await resp.text()


async def test_setup_needs_the_csrf_token_and_refuses_bad_input(client: Client) -> None:
    await client.get("/setup")
    resp = await client.post("/setup", data=SETUP)
    assert resp.status == 403
    bad = SETUP | {"csrf": await token(client), "town_code": "3601"}
    resp = await client.post("/setup", data=bad)
    assert resp.status == 422 and "位数不对" in await resp.text()
    short = SETUP | {"csrf": await token(client), "password": "short", "password2": "short"}
    resp = await client.post("/setup", data=short)
    assert resp.status == 422
    assert await count(client, User) == 0 and await count(client, Region) == 0


async def test_setup_creates_the_admin_and_the_town_then_closes(client: Client) -> None:
    resp = await client.post("/setup", data=SETUP | {"csrf": await token(client)})
    assert resp.url.path == "/regions", resp.url  # signed in, on to the villages
    page = await resp.text()
    assert "管理员已创建" in page and "青山镇" in page and "示范县" in page
    async with client.server.app[RESOURCES].db() as db:
        admin = await db.scalar(select(User).where(User.username == "zhangsan"))
        town = await db.scalar(select(Region).where(Region.code == "360123101000"))
        audit = await db.scalar(select(AuditLog.actor).where(AuditLog.action == "user.create"))
    assert admin is not None and admin.role == "admin" and admin.password_hash
    assert town is not None and town.path == "/360123000000/360123101000/"
    assert audit == "setup"
    # closed: the page, the form and the redirect from the login page
    assert (await client.get("/setup")).status == 404
    again = SETUP | {"username": "lisi", "csrf": await token(client, "/regions")}
    assert (await client.post("/setup", data=again)).status == 404
    client.session.cookie_jar.clear()
    assert (await client.get("/login", allow_redirects=False)).status == 200
    assert await count(client, User) == 1


async def test_the_admin_imports_villages_and_grids_or_gets_a_row_report(client: Client) -> None:
    await client.post("/setup", data=SETUP | {"csrf": await token(client)})
    bad = sheet(
        [("360123101001", "东山村", "360123101000"), ("36012310100201", "网格", "360123101002")]
    )
    status, page = await upload(client, bad)
    assert status == 422
    assert "360123101002" in page and "都不存在" in page and "备注" in page
    assert await count(client, Region) == 2  # nothing written
    good = sheet(
        [
            ("360123101001", "东山村", "360123101000"),
            ("36012310100101", "东山村第一网格", "360123101001"),
        ]
    )
    status, page = await upload(client, good)
    assert status == 200 and "新建 2 个" in page
    assert await count(client, Region) == 4
