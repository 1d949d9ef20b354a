"""A town with one pushed item, a draft, a submitted item and users of every role.

Built once per session into a template SQLite file; each test works on its own copy.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

from aiohttp import FormData
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from channels.wechat import WeChatSettings
from pusher.db import transaction
from pusher.models import (
    Delivery,
    DeliveryStatus,
    Group,
    GroupChat,
    Push,
    Region,
    Resident,
    ResidentMessage,
    Source,
    Urgency,
    User,
    WxBinding,
)
from pusher.pipeline import ingest, review
from pusher.runtime.queue import LocalQueue
from pusher.runtime.resources import bind_local, open_resources
from pusher.settings import Settings
from pusher.town.groups import GroupIn, create_group
from pusher.town.topics import TopicIn, create_topic
from pusher.web.app import create_app
from pusher.web.auth import hash_token
from pusher.web.keys import RESOURCES
from tests.conftest import LOOPBACK, NO_QUIET
from tests.console.test_console import ITEM, PASSWORD, make_users
from tests.spine.conftest import start
from tests.spine.flow import publish

ROLES = ("anonymous", "admin", "publisher", "reviewer", "leader", "grid_worker")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass(frozen=True)
class World:
    """Ids of the rows the matrix and scope tests ask for."""

    settings: Settings
    grids: list[int]
    pushed: int
    push: int
    draft: int
    submitted: int
    own_resident: int
    other_resident: int
    unreachable: int
    group: int
    user: int
    town_code: str
    grid_codes: list[str]
    source: int = 0  # a county source (a loopback URL nobody answers on)
    message: int = 0  # a resident's SMS message in grids[0]
    binding: int = 0  # a pending WeChat binding in grids[0]
    chat: int = 0  # a group chat in grids[0]
    topic: int = 0  # an office topic (村级财务)
    list_group: int = 0  # a hand-kept list group
    relay: int = 0  # a relay task of the pushed item for grid_worker's ordinary WeChat group


# the callbacks are public routes of the matrix: they answer only with these configured
CALLBACK_SECRET = "world-callback-secret-0123456789abcdef"
WECHAT_TOKEN = "world-wechat-token"


def settings_for(db: Path, jieba: Path) -> Settings:
    return Settings(
        database_url=SecretStr(f"sqlite+aiosqlite:///{db}"),
        redis_url=None,
        jieba_cache_dir=jieba,
        quiet_hours=NO_QUIET,
        source_hosts=LOOPBACK,
        callback_secret=SecretStr(CALLBACK_SECRET),
        wechat=WeChatSettings(token=SecretStr(WECHAT_TOKEN)),
        _env_file=None,  # type: ignore[call-arg]
    )


async def build(settings: Settings) -> World:
    """Create the town, its users, and items in every state the routes need."""
    town, _ = await start(settings, residents=60)
    grids = await make_users(settings)
    async with open_resources(settings) as r:
        bind_local(r)
        pushed = await publish(
            r,
            region_code=town.town_code,
            title=ITEM["title"],
            body=ITEM["body"],
            urgency=Urgency.URGENT,
        )
        assert isinstance(r.queue, LocalQueue)
        await r.queue.join()
        async with transaction(r.db) as db:
            ids = await _rows(db, grids)
            draft, submitted = await _items(db)
            source = await _source(db)
            wx_rows = await _wx_rows(db, grids[0])
            town_rows = await _town_rows(db, grids[0])
            town_rows["relay"] = await _relay_row(db, grids[0], ids["push"])
            admin = await db.scalar(select(User).where(User.username == "admin"))
            assert admin is not None
            admin.api_token_hash = hash_token("admin")
    async with open_resources(settings) as r, r.db() as db:
        codes = await _grid_codes(db, grids)
    return World(
        settings, grids, pushed, draft=draft, submitted=submitted, town_code=town.town_code,
        grid_codes=codes, source=source, **ids, **wx_rows, **town_rows,
    )  # fmt: skip


async def _town_rows(db: AsyncSession, grid: int) -> dict[str, int]:
    """A group chat in ``grid``, an office topic and a list group (issue 19's routes)."""
    chat = GroupChat(name="东山村第一网格群", region_id=grid, robot_key=str(uuid.uuid4()))
    db.add(chat)
    topic = await create_topic(db, TopicIn("村级财务", ("村务公开",)))
    group = await create_group(db, GroupIn("走访名单", "list"))
    await db.flush()
    return {"chat": chat.id or 0, "topic": topic.id or 0, "list_group": group.id or 0}


async def _relay_row(db: AsyncSession, grid: int, push: int) -> int:
    """An ordinary WeChat group in ``grid`` kept by grid_worker, its relay task waiting."""
    keeper = await db.scalar(select(User.id).where(User.username == "grid_worker"))
    chat = GroupChat(name="东山村第一网格微信群", region_id=grid, robot_key="", kind="relay")
    chat.keeper_user_id = keeper
    db.add(chat)
    await db.flush()
    row = Delivery(
        push_id=push, group_chat_id=chat.id, region_id=grid, channel="relay",
        recipient=str(keeper), status=DeliveryStatus.WAITING, next_attempt_at=None,
    )  # fmt: skip
    db.add(row)
    await db.flush()
    return row.id or 0


async def _wx_rows(db: AsyncSession, grid: int) -> dict[str, int]:
    message = ResidentMessage(region_id=grid, channel="sms", sender="13900000000", text="路灯坏了")
    binding = WxBinding(openid="o-world-pending", region_id=grid, name="赵六", phone="13911112222")
    db.add_all([message, binding])
    await db.flush()
    return {"message": message.id or 0, "binding": binding.id or 0}


async def _source(db: AsyncSession) -> int:
    region = await db.scalar(select(Region.id).where(Region.code == "360123101"))
    assert region is not None
    row = Source(name="县政务公开", kind="rss", url="http://127.0.0.1:9/feed.xml", region_id=region)
    db.add(row)
    await db.flush()
    return row.id or 0


async def _rows(db: AsyncSession, grids: list[int]) -> dict[str, int]:
    push = await db.scalar(select(Push.id))
    mine = await db.scalar(
        select(Delivery).where(Delivery.region_id == grids[0], Delivery.resident_id.is_not(None))
    )
    assert push is not None and mine is not None and mine.id is not None
    mine.status = DeliveryStatus.UNREACHABLE
    own = await db.scalar(select(Resident.id).where(Resident.region_id == grids[0]))
    other = await db.scalar(select(Resident.id).where(Resident.region_id == grids[1]))
    group = await db.scalar(select(Group.id).order_by(Group.id))
    user = await db.scalar(select(User.id).where(User.username == "reviewer"))
    assert own and other and group and user
    return {
        "push": push,
        "unreachable": mine.id,
        "own_resident": own,
        "other_resident": other,
        "group": group,
        "user": user,
    }


async def _items(db: AsyncSession) -> tuple[int, int]:
    ids = []
    for title in ("草稿：村道维修通知", "待审：春耕补贴发放通知"):
        data = ingest.ItemIn(
            title=title, body="请相互转告。", publisher="青山镇人民政府", region_code="360123101"
        )
        item, _ = await ingest.create_item(db, data, max_body_chars=50_000)
        ids.append(item)
    await review.submit(db, ids[1], actor="publisher")
    await db.flush()
    return ids[0].id or 0, ids[1].id or 0


async def _grid_codes(db: AsyncSession, grids: list[int]) -> list[str]:
    rows = {rid: code for rid, code in await db.execute(select(Region.id, Region.code))}
    return [rows[g] for g in grids]


def template(root: Path, jieba: Path) -> World:
    """Build the template database once (called from a session fixture)."""
    return asyncio.run(build(settings_for(root / "template.db", jieba)))


def copy_of(world: World, target: Path) -> World:
    """``world`` on a fresh copy of its database file."""
    source = Path(world.settings.database_url.get_secret_value().split("///", 1)[1])
    shutil.copyfile(source, target)
    return replace(world, settings=settings_for(target, world.settings.jieba_cache_dir))


async def client_for(world: World) -> AsyncIterator[TestClient[object, object]]:
    client: TestClient[object, object] = TestClient(TestServer(create_app(world.settings)))
    await client.start_server()
    try:
        yield client
    finally:
        await settle(client)
        await client.close()


async def settle(client: TestClient[object, object]) -> None:
    """Wait for jobs the request queued, so nothing runs after the test."""
    queue = client.server.app[RESOURCES].queue
    if isinstance(queue, LocalQueue):
        await queue.join()


async def csrf(client: TestClient[object, object]) -> str:
    page = await (await client.get("/login")).text()
    match = CSRF.search(page)
    assert match, page[:300]
    return match.group(1)


async def login(client: TestClient[object, object], role: str) -> None:
    data = {"username": role, "password": PASSWORD, "csrf": await csrf(client)}
    resp = await client.post("/login", data=data, allow_redirects=False)
    assert resp.status == 302, (role, resp.status)


def multipart(fields: dict[str, object], token: str) -> FormData:
    form = FormData()
    form.add_field("csrf", token)
    for name, value in fields.items():
        if isinstance(value, bytes):
            form.add_field(name, value, filename="名单.xlsx")
        else:
            form.add_field(name, str(value))
    return form
