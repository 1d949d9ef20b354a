"""Residents' side: the short link redirects and is counted; unpublished items stay hidden."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from pusher.db import transaction
from pusher.models import LinkOpen
from pusher.pipeline import ingest
from pusher.pipeline.texts import short_code
from pusher.runtime.queue import LocalQueue
from pusher.web.app import create_app
from tests.spine.conftest import Service
from tests.spine.flow import publish


async def test_short_link_redirects_counts_and_hides_drafts(service: Service) -> None:
    r = service.resources
    item_id = await publish(
        r,
        region_code=service.town.village_codes[0],
        title="东山村停水通知",
        body="12月5日停水一天，请提前储水。",
    )
    assert isinstance(r.queue, LocalQueue)
    await r.queue.join()
    async with transaction(r.db) as session:
        draft, _ = await ingest.create_item(
            session,
            ingest.ItemIn(
                title="草稿", body="未审核", publisher="镇政府", region_code=service.town.town_code
            ),
            max_body_chars=1000,
        )
    client = TestClient(TestServer(create_app(r.settings, resources=r)))
    await client.start_server()
    try:
        opened = await client.get(f"/s/{short_code(item_id)}?v=360123101001", allow_redirects=False)
        assert opened.status == 302 and opened.headers["Location"] == f"/p/{item_id}"
        page = await client.get(f"/p/{item_id}")
        assert page.status == 200 and "东山村停水通知" in await page.text()
        assert (await client.get(f"/s/{short_code(draft.id or 0)}")).status == 404
        assert (await client.get(f"/p/{draft.id}")).status == 404
        assert (await client.get("/s/NOT-A-CODE")).status == 404
    finally:
        await client.close()
    async with r.db() as session:
        opens = await session.scalar(select(func.count()).select_from(LinkOpen))
    assert opens == 1
