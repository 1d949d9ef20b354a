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
from pusher.runtime.queue import LocalQueue
from pusher.summary.relay import base36
from pusher.web.app import create_app
from tests.spine.conftest import Service, service
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
