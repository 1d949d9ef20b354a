"""``/healthz`` says the process is up; ``/readyz`` says whether it can do its work."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from pusher.runtime.resources import open_resources
from pusher.settings import Settings
from tests.ops.conftest import client_for, migrated


async def test_a_migrated_embedded_service_is_ready(sqlite_settings: Settings) -> None:
    await migrated(sqlite_settings)
    async with open_resources(sqlite_settings) as r, client_for(r) as client:
        response = await client.get("/readyz")
        body = await response.json()
    assert response.status == 200
    assert body["status"] == "ready" and body["failed"] == []
    assert set(body["checks"]) == {"database", "migrations"}  # no Redis in embedded mode


async def test_an_unmigrated_database_is_not_ready_and_says_so(sqlite_settings: Settings) -> None:
    async with open_resources(sqlite_settings) as r, client_for(r) as client:
        ready = await client.get("/readyz")
        body = await ready.json()
        alive = await client.get("/healthz")
    assert ready.status == 503
    assert body["failed"] == ["migrations"]
    assert body["checks"]["database"] == {"ok": True}
    assert "pusher db upgrade" in body["checks"]["migrations"]["detail"]
    assert alive.status == 200  # alive all the same: restarting it would not help


async def test_an_unreachable_database_is_not_ready(sqlite_settings: Settings) -> None:
    # Nothing listens on port 1: the connection is refused at once.
    url = "postgresql+asyncpg://pusher:hunter2@127.0.0.1:1/pusher"
    settings = sqlite_settings.model_copy(update={"database_url": SecretStr(url)})
    async with open_resources(settings) as r, client_for(r) as client:
        response = await client.get("/readyz")
        body = await response.json()
        alive = await client.get("/healthz")
    assert response.status == 503
    assert body["failed"] == ["database", "migrations"]
    assert "hunter2" not in str(body) and "127.0.0.1" not in str(body), "no URLs in the answer"
    assert alive.status == 200


@pytest.mark.production
async def test_production_readiness_checks_redis_too(production_settings: Settings) -> None:
    await migrated(production_settings)
    async with open_resources(production_settings) as r, client_for(r) as client:
        response = await client.get("/readyz")
        body = await response.json()
    assert response.status == 200
    assert body["checks"] == {
        "database": {"ok": True},
        "redis": {"ok": True},
        "migrations": {"ok": True},
    }


async def test_request_ids_are_kept_or_made(sqlite_settings: Settings) -> None:
    async with open_resources(sqlite_settings) as r, client_for(r) as client:
        given = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
        made = await client.get("/healthz")
        hostile = await client.get("/healthz", headers={"X-Request-ID": "x" * 500})
    assert given.headers["X-Request-ID"] == "abc-123"
    assert len(made.headers["X-Request-ID"]) == 32
    assert hostile.headers["X-Request-ID"] != "x" * 500
