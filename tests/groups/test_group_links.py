"""Short links posted in a group chat carry the group (``?g=<chat id, base36>``): opens
are counted per group chat, beside the village; a ``g`` naming a chat the item's push
had no delivery for, or no number at all, counts for no group (0) and still redirects."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import DummyCookieJar
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from pusher.models import Delivery, GroupChat, LinkOpen, Push
from pusher.pipeline.texts import short_code
from pusher.runtime.jobs import process_item
from pusher.runtime.queue import LocalQueue
from pusher.runtime.resources import open_resources
from pusher.settings import Settings
from pusher.summary.relay import base36
from pusher.web.app import create_app
from tests.fanout.rig import RecordingQueue
from tests.spine.conftest import Service, service, start
from tests.spine.flow import publish

__all__ = ["service"]
Client = TestClient[object, object]


@pytest.fixture
async def bot(service: Service) -> AsyncIterator[Client]:
    r = service.resources
    client: Client = TestClient(
        TestServer(create_app(r.settings, resources=r)), cookie_jar=DummyCookieJar()
    )
    await client.start_server()
    yield client
    await client.close()


async def test_opens_are_counted_per_group_chat_and_a_bad_g_is_ignored(
    service: Service, bot: Client
) -> None:
    r = service.resources
    item = await publish(
        r, region_code=service.town.village_codes[0], title="东山村停水通知",
        body="12月5日停水一天，请提前储水。",
    )  # fmt: skip
    assert isinstance(r.queue, LocalQueue)
    await r.queue.join()
    async with r.db() as session:
        ours = await session.scalar(
            select(Delivery.group_chat_id)
            .join(Push, Push.id == Delivery.push_id)
            .where(Push.item_id == item, Delivery.group_chat_id.is_not(None))
        )
        others = set(await session.scalars(select(GroupChat.id))) - {ours}
    assert ours is not None and others
    code = short_code(item)
    asked = [base36(ours), base36(ours).upper(), base36(min(others)), "zz-!", "z" * 40, ""]
    for g in asked:
        resp = await bot.get(f"/s/{code}?g={g}", allow_redirects=False)
        assert resp.status == 302, g
    async with r.db() as session:
        rows = (await session.execute(select(LinkOpen.group_chat_id, LinkOpen.opens))).all()
    assert dict(rows) == {ours: 2, 0: 4}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.production)])
def either_settings(request: pytest.FixtureRequest) -> Settings:
    name = "sqlite_settings" if request.param == "sqlite" else "production_settings"
    settings: Settings = request.getfixturevalue(name)
    return settings


async def test_codes_past_the_id_column_are_not_found_not_a_database_error(
    either_settings: Settings,
) -> None:
    """Short codes are read as ids of an INTEGER column: a code past its range (a valid
    base-36 string) is an unknown item or group, never a query PostgreSQL refuses."""
    settings = either_settings
    town, _ = await start(settings, residents=30)
    async with open_resources(settings, queue=RecordingQueue()) as r:
        item = await publish(
            r, region_code=town.village_codes[0], title="东山村停水通知",
            body="12月5日停水一天，请提前储水。",
        )  # fmt: skip
        await process_item({"resources": r}, item)  # approved and planned: its link opens
        client: Client = TestClient(
            TestServer(create_app(r.settings, resources=r)), cookie_jar=DummyCookieJar()
        )
        await client.start_server()
        try:
            too_far = base36(2**31)  # one past the largest INTEGER
            unknown = await client.get(f"/s/{too_far}", allow_redirects=False)
            assert unknown.status == 404 and "不存在" in await unknown.text()
            biggest = await client.get(f"/s/{'z' * 12}", allow_redirects=False)
            assert biggest.status == 404
            page = await client.get(f"/p/{2**31}", allow_redirects=False)  # the item's page
            assert page.status == 404
            opened = await client.get(f"/s/{short_code(item)}?g={too_far}", allow_redirects=False)
            assert opened.status == 302
        finally:
            await client.close()
        async with r.db() as session:
            rows = (await session.execute(select(LinkOpen.group_chat_id, LinkOpen.opens))).all()
    assert dict(rows) == {0: 1}  # the open counts, for no group
