"""The SQLite WAL checkpoints that bulk planning runs beside its writes."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from pusher.db import WalCheckpoints, create_engine, session_factory, transaction


async def test_a_checkpoint_copies_committed_pages_into_the_database_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "wal.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    db = session_factory(engine)
    try:
        async with transaction(db) as session:
            await session.execute(text("CREATE TABLE t (n INTEGER PRIMARY KEY, s TEXT)"))
            await session.execute(
                text("INSERT INTO t (n, s) VALUES (:n, :s)"),
                [{"n": n, "s": "x" * 200} for n in range(2_000)],
            )
        before = path.stat().st_size  # committed, but its pages are still in the WAL only
        checkpoints = WalCheckpoints(db)
        checkpoints.kick()
        checkpoints.kick()  # one under way already: no second one
        await checkpoints.close()
        assert path.stat().st_size > before + 300_000  # ~400 kB of rows now in the file
        async with db() as session:
            assert await session.scalar(text("SELECT count(*) FROM t")) == 2_000
    finally:
        await engine.dispose()
