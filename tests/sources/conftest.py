"""A migrated database with one town, and the county's sites on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from pusher.db import SessionFactory, create_engine, session_factory, transaction
from pusher.models import Region, Source
from pusher.ops.migrate import upgrade
from pusher.settings import Settings
from pusher.sources.fetch import Fetcher
from tests.fanout.conftest import either_settings  # noqa: F401  (a fixture)
from tests.sources.fixtures import Site, county_pages, site_app


@dataclass
class Rig:
    db: SessionFactory
    site: Site
    fetcher: Fetcher
    region_id: int

    async def source(self, kind: str, path: str, **fields: object) -> int:
        url = path if "://" in path else self.site.base + path
        async with transaction(self.db) as session:
            source = Source(
                name=f"测试来源 {path}", kind=kind, url=url, region_id=self.region_id,
                domain="社会救助", **fields,
            )  # fmt: skip
            session.add(source)
            await session.flush()
            assert source.id is not None
            return source.id


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    site = Site()
    server = TestServer(site_app(site), host="127.0.0.1")
    await server.start_server()
    site.base = str(server.make_url("")).rstrip("/")
    county_pages(site)
    yield site
    await server.close()


async def _rig(settings: Settings, site: Site) -> AsyncIterator[Rig]:
    url = settings.database_url.get_secret_value()
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    db = session_factory(engine)
    async with transaction(db) as session:
        region = Region(code="360123101", name="某某镇", kind="town", path="/360123101/")
        session.add(region)
        await session.flush()
        assert region.id is not None
        region_id = region.id
    async with aiohttp.ClientSession() as http:
        hosts = frozenset(settings.source_hosts)  # the fixture server's loopback only
        fetcher = Fetcher(http, timeout=2.0, per_host_interval=0.0, hosts=hosts)
        yield Rig(db, site, fetcher, region_id)
    await engine.dispose()


@pytest.fixture
async def rig(either_settings: Settings, site: Site) -> AsyncIterator[Rig]:  # noqa: F811
    async for r in _rig(either_settings, site):
        yield r


@pytest.fixture
async def lite(sqlite_settings: Settings, site: Site) -> AsyncIterator[Rig]:
    """The same on SQLite only, for checks where the database does not matter."""
    async for r in _rig(sqlite_settings, site):
        yield r
