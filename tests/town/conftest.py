"""An empty migrated database (the 26 built-in topics, nothing else), one copy per test;
and the spine's small town as a running service with a client, for the API tests."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from pusher.db import SessionFactory, create_engine, session_factory, transaction
from pusher.models import Role, User
from pusher.ops.migrate import upgrade
from pusher.runtime.resources import bind_local, open_resources
from pusher.settings import Settings
from pusher.web.app import create_app
from pusher.web.auth import hash_token
from tests.spine.conftest import Service, start


@pytest.fixture(scope="session")
def empty_db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("town") / "empty.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def db_url(empty_db_file: Path, tmp_path: Path) -> str:
    mine = tmp_path / "pusher.db"
    shutil.copy(empty_db_file, mine)
    return f"sqlite+aiosqlite:///{mine}"


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[SessionFactory]:
    engine = create_engine(db_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def service(sqlite_settings: Settings) -> AsyncIterator[Service]:
    """The spine's small demo town as a running embedded service, with an admin too
    (API tokens are the role names)."""
    town, tokens = await start(sqlite_settings)
    async with open_resources(sqlite_settings) as resources:
        bind_local(resources)
        async with transaction(resources.db) as session:
            session.add(User(username="admin", role=Role.ADMIN, api_token_hash=hash_token("admin")))
        yield Service(resources, town, tokens)


@pytest.fixture
async def client(service: Service) -> AsyncIterator[TestClient[object, object]]:
    c: TestClient[object, object] = TestClient(
        TestServer(create_app(service.resources.settings, resources=service.resources))
    )
    await c.start_server()
    yield c
    await c.close()
