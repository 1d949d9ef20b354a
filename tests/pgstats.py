"""What this PostgreSQL transaction has done so far, from ``pg_stat_xact_user_tables``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

_SEQ_SCANS = text("SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'delivery'")


async def seq_scans(db: Any) -> int:
    """Sequential scans of ``delivery`` by the transaction of ``db`` (a session or a
    connection) so far."""
    return int(await db.scalar(_SEQ_SCANS) or 0)
