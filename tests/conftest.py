"""Fixtures shared by every test: settings, real databases, a small town."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from pusher.settings import QuietHours, Settings

# Tests must not depend on the hour they run at: quiet hours off unless a test sets them.
NO_QUIET = QuietHours(start=0, end=0)

PG_ADMIN = os.environ.get("PUSHER_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("PUSHER_TEST_REDIS", "redis://127.0.0.1:6379/0")
# Production mode refuses short or published secrets: tests bring their own.
TEST_SECRET_KEY = "test-secret-key-" + uuid.uuid4().hex
TEST_CALLBACK_SECRET = "test-callback-secret-" + uuid.uuid4().hex
# County sources are read from the fixture server only: nothing leaves the machine.
LOOPBACK = ["127.0.0.1", "localhost"]
#: ``serve(app)`` starts ``app`` on a free loopback port and answers its base URL
Serve = Callable[[web.Application], Awaitable[str]]


@pytest.fixture(scope="session")
def jieba_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("jieba")


@pytest.fixture
def sqlite_settings(tmp_path: Path, jieba_cache: Path) -> Settings:
    """Embedded mode: a fresh SQLite file, no Redis."""
    return Settings(
        database_url=SecretStr(f"sqlite+aiosqlite:///{tmp_path / 'pusher.db'}"),
        redis_url=None,
        jieba_cache_dir=jieba_cache,
        quiet_hours=NO_QUIET,
        source_hosts=LOOPBACK,
        _env_file=None,  # type: ignore[call-arg]
    )


async def _admin(sql: str) -> None:
    import asyncpg

    dsn = PG_ADMIN.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database on the machine's server, dropped afterwards."""
    name = f"pusher_t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def production_settings(pg_url: str, jieba_cache: Path) -> Settings:
    """Production mode: real PostgreSQL and Redis, a queue of this test's own."""
    return Settings(
        database_url=SecretStr(pg_url),
        redis_url=SecretStr(REDIS),
        queue_name=f"pusher:test:{uuid.uuid4().hex[:8]}",
        secret_key=SecretStr(TEST_SECRET_KEY),
        callback_secret=SecretStr(TEST_CALLBACK_SECRET),
        jieba_cache_dir=jieba_cache,
        quiet_hours=NO_QUIET,
        source_hosts=LOOPBACK,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.production)])
def any_settings(request: pytest.FixtureRequest) -> Settings:
    """Embedded SQLite, then (marked production) the machine's PostgreSQL."""
    name = "sqlite_settings" if request.param == "sqlite" else "production_settings"
    settings: Settings = request.getfixturevalue(name)
    return settings


@pytest.fixture
async def redis_client() -> AsyncIterator[object]:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS)
    yield client
    await client.aclose()


@pytest.fixture(scope="session", autouse=True)
def _jieba_compiled() -> None:
    """Import jieba once in the main thread: its sources warn when compiled."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import jieba  # noqa: F401


@pytest.fixture
def settled_heap() -> Iterator[None]:
    """For event-loop lag tests: the heap earlier tests left behind is collected and frozen,
    so a generation-2 pass over the whole suite's leftovers (hundreds of ms late in a full
    run) is not charged to the code under test; its own garbage is still collected."""
    import gc

    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session for the test's own requests (emulators, fixture servers)."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Starts applications (emulators, fixture servers) on loopback; closes them after."""
    servers: list[TestServer] = []

    async def start(app: web.Application) -> str:
        server = TestServer(app, host="127.0.0.1", port=0)
        await server.start_server()
        servers.append(server)
        return str(server.make_url("/"))

    yield start
    for server in servers:
        await server.close()
