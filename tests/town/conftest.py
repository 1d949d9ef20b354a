"""An empty migrated database (the 26 built-in topics, nothing else), one copy per test."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pusher.db import SessionFactory, create_engine, session_factory
from pusher.migrate import upgrade


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
