"""A statement run while a table was small is planned afresh once the table has grown.

asyncpg prepares every statement, and after five runs PostgreSQL may keep a generic
plan for the rest of the connection's life. One made while ``delivery`` held a few
rows reads the table whole for a primary-key update; in ``pusher bench county`` every
receipt did, on 50,000 rows, and the callbacks fell minutes behind the push.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import insert, select, text, update

from pusher.db import create_engine
from pusher.models import Delivery, DeliveryStatus
from pusher.ops.migrate import upgrade
from tests.pgstats import seq_scans

pytestmark = pytest.mark.production



def _receipt(delivery_id: int) -> object:
    return (
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status == DeliveryStatus.SENT.value)
        .values(status=DeliveryStatus.DELIVERED.value)
    )


async def test_a_plan_made_on_a_small_table_is_not_kept(pg_url: str) -> None:
    await asyncio.to_thread(upgrade, pg_url)
    engine = create_engine(pg_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn, conn.begin():
            row = {"push_id": 1, "channel": "wechat", "recipient": "o", "status": "sent"}
            await conn.execute(insert(Delivery), [{**row, "resident_id": i} for i in range(3)])
            await conn.execute(text("ANALYZE delivery"))  # as autovacuum does early on
            first = list(await conn.scalars(select(Delivery.id)))
            for _ in range(3):  # the same prepared statement, run while the table is tiny
                for delivery_id in first:
                    await conn.execute(_receipt(delivery_id))  # type: ignore[arg-type]
            await conn.execute(
                insert(Delivery), [{**row, "resident_id": i} for i in range(3, 20_003)]
            )
            last = await conn.scalar(select(Delivery.id).order_by(Delivery.id.desc()).limit(1))
            assert last is not None
            before = await seq_scans(conn)
            for delivery_id in range(last - 50, last):
                await conn.execute(_receipt(delivery_id))  # type: ignore[arg-type]
            scans = await seq_scans(conn) - before
    finally:
        await engine.dispose()
    assert scans <= 2, f"{scans} sequential scans of 20,003 rows for 50 updates by key"
