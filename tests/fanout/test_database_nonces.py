"""Callback nonces in the database (embedded mode, and production while Redis is down):
a pair is claimed once, and expired pairs are deleted now and then, not by every claim."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from pusher.db import transaction
from pusher.models import CallbackNonce, utcnow
from pusher.runtime.resources import open_resources
from pusher.settings import Settings
from pusher.web import nonces as module
from pusher.web.nonces import DatabaseNonces
from tests.spine.conftest import start


async def test_claims_are_once_each_and_expired_pairs_go_now_and_then(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await start(sqlite_settings, residents=1)
    clock = [1_000.0]
    monkeypatch.setattr(module.time, "monotonic", lambda: clock[0])
    async with open_resources(sqlite_settings) as r:
        async with transaction(r.db) as session:  # a pair seen long ago
            session.add(CallbackNonce(key="old", seen_at=utcnow() - timedelta(hours=1)))
        deletes: list[str] = []

        def seen(_c: Any, _cur: Any, statement: str, *_rest: Any) -> None:
            if statement.lstrip().upper().startswith("DELETE"):
                deletes.append(statement)

        engine = r.db.kw["bind"].sync_engine
        event.listen(engine, "before_cursor_execute", seen)
        store = DatabaseNonces(r.db, ttl_seconds=600)
        assert all([await store.claim(f"k{n}") for n in range(50)])
        assert not await store.claim("k7")  # a replay
        assert len(deletes) == 1  # the first claim purged; the other 50 did not
        async with r.db() as session:
            left = await session.scalar(select(func.count()).select_from(CallbackNonce))
        assert left == 50  # the old pair went, the new ones stay

        clock[0] += module.PURGE_EVERY  # later: the next claim purges again
        assert await store.claim("k50")
        assert len(deletes) == 2
        event.remove(engine, "before_cursor_execute", seen)
