"""The town's structure on PostgreSQL (production mode): migration 0014, the move's path
rewrite, and two first-run setups at once creating exactly one administrator."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from pusher.console.first_run import SetupIn, run_setup
from pusher.db import create_engine, session_factory, transaction
from pusher.errors import Conflict
from pusher.models import Region, User
from pusher.ops.migrate import upgrade
from pusher.town.region_import import import_regions
from pusher.town.regions import RegionIn, by_code, create_region, move_region

ROWS = [
    {"代码": "360123101000", "名称": "青山镇", "上级代码": ""},
    {"代码": "360123101001", "名称": "东山村", "上级代码": "360123101000"},
    {"代码": "36012310100101", "名称": "东山村第一网格", "上级代码": "360123101001"},
]


async def test_import_and_move_on_postgresql(pg_url: str) -> None:
    url = pg_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    db = session_factory(engine)
    try:
        async with transaction(db) as session:
            assert (await import_regions(session, ROWS)).ok
            await create_region(session, RegionIn("白石镇", "360123102000"))
        async with transaction(db) as session:
            await move_region(session, await by_code(session, "360123101001"), "360123102000")
        async with db() as session:
            grid = await by_code(session, "36012310100101")
        assert grid.path == "/360123102000/360123101001/36012310100101/"
    finally:
        await engine.dispose()


async def test_two_setups_at_once_make_one_admin(pg_url: str) -> None:
    url = pg_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    db = session_factory(engine)

    async def setup(name: str) -> str:
        data = SetupIn(name, "a-long-password-1", "", "青山镇", "360123101000")
        try:
            async with transaction(db) as session:
                await run_setup(session, data)
        except Conflict:
            return "refused"
        return "created"

    try:
        outcomes = await asyncio.gather(setup("wang"), setup("li"))
        async with db() as session:
            admins = await session.scalar(select(func.count()).select_from(User))
            towns = await session.scalar(select(func.count()).select_from(Region))
        assert sorted(outcomes) == ["created", "refused"] and admins == 1 and towns == 1
    finally:
        await engine.dispose()


pytestmark = pytest.mark.timeout(300)
