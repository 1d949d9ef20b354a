"""Database engine and sessions, built from settings and passed around explicitly."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SessionFactory = async_sessionmaker[AsyncSession]

log = logging.getLogger(__name__)


def create_engine(url: str, *, pool_size: int = 10, max_overflow: int = 10) -> AsyncEngine:
    """An async engine; SQLite gets WAL, foreign keys and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        connect_args={"server_settings": POSTGRES_SETTINGS},
    )


#: Settings of every PostgreSQL connection. Each statement is planned for its own
#: parameters and the table as it is now: asyncpg prepares every statement, and after
#: five runs PostgreSQL may keep a generic plan for the connection's life. A plan kept
#: while ``delivery`` was small reads the whole table once it has a county's rows (seen
#: in ``pusher bench county``: each receipt's update by primary key scanned 50,000 rows,
#: the outcome updates of sent batches too). Planning each run costs tens of µs.
POSTGRES_SETTINGS = {"plan_cache_mode": "force_custom_plan"}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Checkpoint every ~40 MB of WAL instead of 4 MB: bulk planning writes hundreds
    # of MB, and each checkpoint rewrites the same index pages and syncs the file.
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()


def session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False)


def is_postgres(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"


def single_writer(factory: SessionFactory) -> bool:
    """True for SQLite: one write transaction at a time; concurrent writers only wait."""
    bind = factory.kw.get("bind")
    return bind is None or bind.dialect.name == "sqlite"


def grown_enough(added: int, known_rows: float) -> bool:
    """Whether ``added`` new rows call for new statistics of a table the statistics say
    holds ``known_rows`` (negative: never analyzed): PostgreSQL's autovacuum default,
    50 rows and a tenth of the table."""
    return added >= 50 + 0.1 * max(known_rows, 0.0)


async def refresh_statistics_if_grown(factory: SessionFactory, table: str, added: int) -> None:
    """:func:`refresh_statistics` when ``added`` rows are many for what the statistics
    say ``table`` holds (a first large push into a table never analyzed, say, whose
    planner then priced a look-up of 100 provider ids by their index as a scan of the
    whole table: seen in ``pusher bench county --quick``)."""
    if single_writer(factory) or added <= 0:
        return
    async with factory() as session:
        known = await session.scalar(
            text("SELECT reltuples FROM pg_class WHERE relname = :table"), {"table": table}
        )
    if known is None or grown_enough(added, float(known)):
        await refresh_statistics(factory, table)


async def refresh_statistics(factory: SessionFactory, table: str) -> None:
    """Take PostgreSQL's statistics of ``table`` now (nothing on SQLite).

    For a table that has just grown by a push of many rows: until autovacuum analyzes
    it (a minute or more later; never where autovacuum is off) the planner reads old
    statistics, and a join it prices on a table it thinks small reads the new rows
    whole (seen in ``pusher bench county``: the parked-receipt sweep ran three minutes
    on a million deliveries). Analyzing also makes every connection plan again. A
    failure is logged, not raised: the push goes on with the old statistics.
    """
    if single_writer(factory):
        return
    started = time.monotonic()
    try:
        async with transaction(factory) as session:
            await session.execute(text(f'ANALYZE "{table}"'))
    except Exception:
        log.exception("statistics not refreshed", extra={"table": table})
        return
    log.info(
        "statistics refreshed",
        extra={"table": table, "seconds": round(time.monotonic() - started, 3)},
    )


def rowcount(result: object) -> int:
    """Rows an UPDATE/DELETE/INSERT reported (0 when the driver reports none)."""
    return int(getattr(result, "rowcount", 0) or 0)


@asynccontextmanager
async def transaction(factory: SessionFactory) -> AsyncIterator[AsyncSession]:
    """A session whose work is committed on success and rolled back on error."""
    async with factory() as session, session.begin():
        yield session


class WalCheckpoints:
    """SQLite: copy a bulk writer's WAL into the database file on a side connection.

    SQLite checkpoints in the committing connection, so a writer that commits
    chunk after chunk stops at every ~40 MB of WAL to copy pages and sync the
    file. :meth:`kick` (after each commit) starts a ``PASSIVE`` checkpoint on
    another pooled connection, whose thread runs it on the other core while
    the writer goes on; the writer's own checkpoints then find the WAL already
    copied. Nothing is done on PostgreSQL.
    """

    def __init__(self, factory: SessionFactory) -> None:
        self._factory = factory
        self._enabled = single_writer(factory)
        self._running: asyncio.Task[None] | None = None

    def kick(self) -> None:
        """Start a checkpoint unless one is under way."""
        if self._enabled and (self._running is None or self._running.done()):
            self._running = asyncio.create_task(self._checkpoint())

    async def close(self) -> None:
        """Wait for the checkpoint under way, if any."""
        if self._running is not None:
            await self._running

    async def _checkpoint(self) -> None:
        try:
            async with self._factory() as session:
                await session.execute(text("PRAGMA wal_checkpoint(PASSIVE)"))
        except Exception:  # a missed checkpoint is made up by the next one, or SQLite's own
            log.warning("WAL checkpoint failed", exc_info=True)
