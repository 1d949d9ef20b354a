"""Short-link opens: counted in bounded rows, the redirect answers everybody.

A flood from one address makes one counter row per (item, village, day) and at most
``link_open_rate`` counted opens; a ``v`` that is not a region inside the item's region
is not stored; a resident who opens the same link again counts once; the retention
purge removes old counts. The gate's contract holds for both backends.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp import CookieJar, DummyCookieJar
from aiohttp.abc import AbstractCookieJar
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis
from sqlalchemy import select

from pusher.db import transaction
from pusher.models import LinkOpen, utcnow
from pusher.pipeline.lifecycle import purge
from pusher.pipeline.texts import short_code
from pusher.runtime.queue import LocalQueue
from pusher.web.app import create_app
from pusher.web.open_gate import MemoryGate, OpenGate, RedisGate
from tests.spine.conftest import Service
from tests.spine.flow import publish

RATE = 7
Client = TestClient[object, object]


@pytest.fixture
async def item_id(service: Service) -> int:
    item = await publish(
        service.resources,
        region_code=service.town.village_codes[0],
        title="东山村停水通知",
        body="12月5日停水一天，请提前储水。",
    )
    assert isinstance(service.resources.queue, LocalQueue)
    await service.resources.queue.join()
    return item


async def _client(service: Service, jar: AbstractCookieJar) -> AsyncIterator[Client]:
    r = service.resources
    settings = r.settings.model_copy(update={"link_open_rate": RATE})
    client: Client = TestClient(TestServer(create_app(settings, resources=r)), cookie_jar=jar)
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def bot(service: Service) -> AsyncIterator[Client]:
    """A client that never sends cookies back (each request looks like a new visitor)."""
    async for client in _client(service, DummyCookieJar()):
        yield client


@pytest.fixture
async def phone(service: Service) -> AsyncIterator[Client]:
    """A resident's browser: keeps the cookie the short link sets."""
    async for client in _client(service, CookieJar(unsafe=True)):
        yield client


async def _counts(service: Service) -> dict[str, int]:
    async with service.resources.db() as session:
        rows = (await session.execute(select(LinkOpen.region_code, LinkOpen.opens))).all()
    return {code: opens for code, opens in rows}


async def test_a_thousand_opens_from_one_address_all_redirect_but_few_are_counted(
    service: Service, item_id: int, bot: Client
) -> None:
    village = service.town.village_codes[0]
    statuses = set()
    for n in range(1000):
        query = f"?v={village}" if n % 2 else f"?v=junk{n}"
        resp = await bot.get(f"/s/{short_code(item_id)}{query}", allow_redirects=False)
        statuses.add((resp.status, resp.headers["Location"]))
    counts = await _counts(service)
    assert statuses == {(302, f"/p/{item_id}")}  # nobody is kept from the notice
    assert set(counts) <= {"", village}  # one row per (item, village, day), junk v never
    assert sum(counts.values()) == RATE  # this address's counted opens this minute


async def test_a_v_that_is_no_region_inside_the_item_is_not_stored(
    service: Service, item_id: int, bot: Client
) -> None:
    town = service.town
    inside = town.village_codes[0]
    outside = town.village_codes[1]
    for v in (inside, outside, "999999999999", "<script>", "x" * 200, inside):
        resp = await bot.get(f"/s/{short_code(item_id)}", params={"v": v}, allow_redirects=False)
        assert resp.status == 302
    assert await _counts(service) == {inside: 2, "": 4}


async def test_a_resident_opening_the_link_again_counts_once(
    service: Service, item_id: int, phone: Client
) -> None:
    village = service.town.village_codes[0]
    for _ in range(5):
        resp = await phone.get(f"/s/{short_code(item_id)}?v={village}", allow_redirects=False)
        assert resp.status == 302
    assert await _counts(service) == {village: 1}


async def test_old_open_counts_are_purged(service: Service, item_id: int) -> None:
    today = utcnow()
    async with transaction(service.resources.db) as session:
        for age in (0, 30, 400):
            day = (today - timedelta(days=age)).date()
            session.add(LinkOpen(item_id=item_id, region_code=str(age), day=day, opens=3))
    report = await purge(
        service.resources.db, now=today, delivery_days=0, sandbox_days=0, link_open_days=100
    )
    assert report.link_opens == 1
    assert set(await _counts(service)) == {"0", "30"}


@pytest.fixture(params=["memory", "redis"])
def gate(request: pytest.FixtureRequest, redis_client: Redis) -> OpenGate:
    if request.param == "memory":
        return MemoryGate(rate=3)
    return RedisGate(redis_client, rate=3, prefix=f"pusher:test:{uuid.uuid4().hex[:8]}:opens")


async def test_the_gate_counts_a_visitor_once_and_an_address_up_to_its_rate(
    gate: OpenGate,
) -> None:
    async def admit(address: str, visitor: str, link: str = "1:") -> bool:
        return await gate.admit(address=address, visitor=visitor, link=link)

    assert await admit("10.0.0.1", "a") and not await admit("10.0.0.1", "a")
    assert await admit("10.0.0.1", "a", link="2:")  # another link of the same visitor
    assert [await admit("10.0.0.1", v) for v in "bcd"] == [True, False, False]  # rate 3
    assert await admit("10.0.0.2", "e")  # another address has its own rate
    assert await admit("10.0.0.2", "c")  # c was refused above, so not marked seen
