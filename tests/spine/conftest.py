"""A migrated database with a small town, opened as a running embedded service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp.test_utils import TestClient, TestServer

from pusher.db import transaction
from pusher.demo.town import Town, build_town
from pusher.models import Role, User
from pusher.ops.migrate import upgrade
from pusher.runtime.context import Resources
from pusher.runtime.resources import bind_local, open_resources
from pusher.settings import Settings
from pusher.web.app import create_app
from pusher.web.auth import hash_token


@dataclass
class Service:
    resources: Resources
    town: Town
    tokens: dict[str, str]


async def start(settings: Settings, *, residents: int = 300) -> tuple[Town, dict[str, str]]:
    """Migrate, then create the town and one user per role (token = role name)."""
    await asyncio.to_thread(upgrade, settings.database_url.get_secret_value())
    async with open_resources(settings) as r, transaction(r.db) as session:
        town = await build_town(session, residents=residents)
        for role in (Role.PUBLISHER, Role.REVIEWER, Role.LEADER, Role.GRID_WORKER):
            session.add(User(username=role.value, role=role, api_token_hash=hash_token(role.value)))
    return town, {role.value: role.value for role in Role}


@pytest.fixture
async def service(sqlite_settings: Settings) -> AsyncIterator[Service]:
    town, tokens = await start(sqlite_settings)
    async with open_resources(sqlite_settings) as resources:
        bind_local(resources)
        yield Service(resources, town, tokens)


@pytest.fixture
async def client(service: Service) -> AsyncIterator[TestClient[object, object]]:
    """The API and console of ``service`` over HTTP (its resources shared)."""
    c: TestClient[object, object] = TestClient(
        TestServer(create_app(service.resources.settings, resources=service.resources))
    )
    await c.start_server()
    yield c
    await c.close()
