"""Embedded mode purges on its own schedule: no arq worker, no cron."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from pusher.db import transaction
from pusher.models import PendingReceipt, SandboxMessage, utcnow
from pusher.runtime.context import Resources
from pusher.settings import Settings
from pusher.web import app as web_app
from pusher.web.app import create_app
from pusher.web.keys import RESOURCES
from tests.ops.conftest import migrated


async def _expired_rows(r: Resources, settings: Settings, tag: str) -> None:
    now = utcnow()
    async with transaction(r.db) as session:
        session.add(
            SandboxMessage(
                kind="sms",
                recipient="13800000000",
                key=tag,
                text="旧消息",
                provider_id=f"sbx-{tag}",
                at=now - timedelta(days=settings.sandbox_retention_days + 1),
            )
        )
        session.add(
            PendingReceipt(
                provider="aliyun",
                provider_id=f"junk-{tag}",
                delivered=True,
                received_at=now - timedelta(hours=settings.parked_receipt_hours + 1),
            )
        )


async def _left(r: Resources) -> int:
    async with r.db() as session:
        sandbox = await session.scalar(select(func.count()).select_from(SandboxMessage))
        parked = await session.scalar(select(func.count()).select_from(PendingReceipt))
    return int(sandbox or 0) + int(parked or 0)


async def _until_empty(r: Resources, seconds: float) -> bool:
    for _ in range(int(seconds / 0.05)):
        if await _left(r) == 0:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_the_embedded_app_purges_after_start_and_then_every_period(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(web_app, "PURGE_FIRST_SECONDS", 0.3)  # the clock, driven
    monkeypatch.setattr(web_app, "PURGE_SECONDS", 0.6)
    await migrated(sqlite_settings)
    client: TestClient[object, object] = TestClient(TestServer(create_app(sqlite_settings)))
    await client.start_server()
    try:
        r = client.server.app[RESOURCES]
        await _expired_rows(r, sqlite_settings, "1")
        assert await _left(r) == 2  # nothing purges at once: start-up is left alone
        assert await _until_empty(r, 5.0)  # the first purge, without any arq worker
        await _expired_rows(r, sqlite_settings, "2")
        assert await _until_empty(r, 5.0)  # and the next one, a period later
    finally:
        await client.close()
