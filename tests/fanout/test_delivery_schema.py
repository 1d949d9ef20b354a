"""The delivery table after 0006: partial indexes still guard uniqueness; no drift.

Run on both databases, migrated by the migrations (not created from the models).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from pusher.db import create_engine, session_factory, transaction
from pusher.models import Delivery, GroupChat, Item, Push, Region
from pusher.ops.migrate import alembic_config, upgrade
from pusher.settings import Settings

BACKENDS = ["sqlite_settings", pytest.param("production_settings", marks=pytest.mark.production)]


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest) -> str:
    settings: Settings = request.getfixturevalue(request.param)
    return settings.database_url.get_secret_value()


async def _push_and_chat(url: str) -> tuple[int, int]:
    """A migrated database with one push and one group chat; their ids."""
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    try:
        async with transaction(session_factory(engine)) as session:
            region = Region(code="360123101", name="青山镇", kind="town", path="/360123101/")
            session.add(region)
            await session.flush()
            assert region.id is not None
            item = Item(title="通知", body="正文", publisher="镇政府", region_id=region.id)
            chat = GroupChat(name="村民群", region_id=region.id, robot_key="robot")
            session.add_all([item, chat])
            await session.flush()
            assert item.id is not None
            push = Push(item_id=item.id)
            session.add(push)
            await session.flush()
            assert push.id is not None and chat.id is not None
            return push.id, chat.id
    finally:
        await engine.dispose()


async def _add(url: str, **row: Any) -> None:
    engine = create_engine(url)
    try:
        async with transaction(session_factory(engine)) as session:
            session.add(Delivery(channel="wechat", **row))
    finally:
        await engine.dispose()


async def _count(url: str) -> int:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            return int(await session.scalar(select(func.count()).select_from(Delivery)) or 0)
    finally:
        await engine.dispose()


async def test_the_partial_chat_index_still_rejects_a_second_row_per_push_and_chat(
    url: str,
) -> None:
    push_id, chat_id = await _push_and_chat(url)
    await _add(url, push_id=push_id, group_chat_id=chat_id)
    with pytest.raises(IntegrityError):
        await _add(url, push_id=push_id, group_chat_id=chat_id)
    for resident_id in (1, 2):  # resident rows have no chat: not in the partial index
        await _add(url, push_id=push_id, resident_id=resident_id)
    with pytest.raises(IntegrityError):
        await _add(url, push_id=push_id, resident_id=1)
    assert await _count(url) == 3


def _drift(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, SQLModel.metadata))


async def test_the_migrations_build_what_the_models_declare(url: str) -> None:
    await asyncio.to_thread(upgrade, url)
    await asyncio.to_thread(command.downgrade, alembic_config(url), "0005")  # 0006 down, up
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_drift) == []
    finally:
        await engine.dispose()
