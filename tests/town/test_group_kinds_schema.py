"""Migration 0018 (group kinds, group tasks, opens per group chat) on both databases:
existing chats become robots, the models and the migrations agree, the day's counter is
unique per group chat, and the way down folds per-group opens into the village's row."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from pusher.db import create_engine
from pusher.ops.migrate import alembic_config, upgrade
from pusher.settings import Settings

BACKENDS = ["sqlite_settings", pytest.param("production_settings", marks=pytest.mark.production)]
DAY = date(2026, 12, 6)


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest) -> str:
    settings: Settings = request.getfixturevalue(request.param)
    return settings.database_url.get_secret_value()


async def _run(url: str, *statements: str, **params: Any) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            rows: list[Any] = []
            for statement in statements:
                result = await connection.execute(text(statement), params)
                rows = list(result) if result.returns_rows else []
            return rows
    finally:
        await engine.dispose()


def _drift(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, SQLModel.metadata))


async def test_0018_up_down_up(url: str) -> None:
    await asyncio.to_thread(upgrade, url, "0017")
    await _run(
        url,
        "INSERT INTO region (code, name, kind, path, active) "
        "VALUES ('360123101', '青山镇', 'town', '/360123101/', true)",
        "INSERT INTO item (title, body, publisher, region_id, disclosure, urgency, status, "
        "domains, created_at, updated_at, attachments) SELECT '通知', '正文', '镇政府', id, "
        "'主动公开', 'normal', 'approved', '[]', :now, :now, '[]' FROM region",
        "INSERT INTO group_chat (name, region_id, robot_key, active) "
        "SELECT '东山村民群', id, 'robot-key-1', true FROM region",
        "INSERT INTO link_open_day (item_id, region_code, day, opens) "
        "SELECT id, '360123101001', :day, 3 FROM item",
        now=datetime(2026, 12, 6, 10, tzinfo=UTC),
        day=DAY,
    )
    await asyncio.to_thread(upgrade, url)
    assert await _run(url, "SELECT kind, keeper_user_id, owner_userid FROM group_chat") == [
        ("robot", None, None)
    ]
    # one counter per (item, village, group chat, day): a second one for the same group fails
    add_open = (
        "INSERT INTO link_open_day (item_id, region_code, group_chat_id, day, opens) "
        "SELECT id, '360123101001', :chat, :day, 2 FROM item"
    )
    await _run(url, add_open, chat=7, day=DAY)
    with pytest.raises(IntegrityError):
        await _run(url, add_open, chat=7, day=DAY)
    await _run(url, add_open, chat=8, day=DAY)
    # down: per-group opens fold into the village's row; then up again, no drift
    await asyncio.to_thread(command.downgrade, alembic_config(url), "0017")
    assert await _run(url, "SELECT region_code, opens FROM link_open_day") == [("360123101001", 7)]
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_drift) == []
    finally:
        await engine.dispose()
