"""Receipts are applied through the table's keys whatever PostgreSQL's statistics say.

A county push's WeChat receipts arrive one per message, hundreds a second, each an
execution of the same prepared UPDATE. Keyed on the provider id, its generic plan
depends on the statistics PostgreSQL holds for that column, which are taken while the
push's rows have no provider id yet; in ``pusher bench county --quick`` every receipt
then read the whole table (2,000 sequential scans in 15 s at 50,000 rows: the callbacks
fell minutes behind). Here the statistics are made as stale as they get — taken when
every row had the same provider id — the generic plan is forced, and applying 300
receipts must not read the table whole more than a couple of times.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event, func, select, text, update

from channels.base import Receipt
from pusher.db import transaction
from pusher.models import Delivery, DeliveryStatus, Urgency
from pusher.pipeline.receipts import apply_receipts
from pusher.runtime import jobs
from pusher.runtime.context import Resources
from pusher.runtime.resources import open_resources
from pusher.settings import Settings
from tests.fanout.rig import RecordingQueue
from tests.pgstats import seq_scans
from tests.spine.conftest import start
from tests.spine.flow import publish

pytestmark = pytest.mark.production
RESIDENTS = 300


@pytest.fixture
async def sent(production_settings: Settings) -> AsyncIterator[Resources]:
    """A town-wide push whose rows were all sent over WeChat after the last ANALYZE."""
    town, _ = await start(production_settings, residents=RESIDENTS)
    async with open_resources(production_settings, queue=RecordingQueue()) as r:
        item_id = await publish(
            r, region_code=town.town_code, title="山洪预警", body="请转移。", urgency=Urgency.URGENT
        )
        assert await jobs.process_item({"resources": r}, item_id) is not None
        async with transaction(r.db) as session:
            await session.execute(update(Delivery).values(provider="wechat", provider_id="0"))
        async with r.db() as session:
            await session.execute(text("ANALYZE delivery"))
            await session.commit()
        async with transaction(r.db) as session:
            await session.execute(
                update(Delivery).values(
                    provider_id=func.cast(Delivery.id, Delivery.provider_id.type),
                    status=DeliveryStatus.SENT.value,
                )
            )
        yield r


async def test_receipts_do_not_scan_the_table_per_receipt(sent: Resources) -> None:
    async with transaction(sent.db) as session:
        ids = list(await session.scalars(select(Delivery.id)))
        assert len(ids) >= RESIDENTS * 0.9
        await session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        before = await seq_scans(session)
        for start_at in range(0, len(ids), 100):  # three callback batches
            batch = [Receipt(str(i), True, "") for i in ids[start_at : start_at + 100]]
            applied = await apply_receipts(session, "wechat", batch)
            assert not applied.parked
        scans = await seq_scans(session) - before
        delivered = await session.scalar(
            select(func.count()).where(Delivery.status == DeliveryStatus.DELIVERED.value)
        )
    assert delivered == len(ids)
    assert scans <= 6, f"{scans} sequential scans of delivery for {len(ids)} receipts"



async def test_a_batch_of_receipts_is_a_few_statements(sent: Resources) -> None:
    """An SMS report brings 1,000 receipts: one statement a receipt (an executemany)
    kept a county push's WeChat callbacks waiting minutes behind the SMS ones."""
    executions: list[int] = []

    def count(_conn: Any, _cursor: Any, _sql: str, params: Any, _ctx: Any, many: bool) -> None:
        executions.append(len(params) if many else 1)

    async with transaction(sent.db) as session:
        ids = list(await session.scalars(select(Delivery.id)))
        engine = session.bind.sync_engine  # type: ignore[union-attr]
        event.listen(engine, "before_cursor_execute", count)
        try:
            receipts = [Receipt(str(i), i % 3 != 0, "" if i % 3 else "FAIL") for i in ids]
            await apply_receipts(session, "wechat", receipts)
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert sum(executions) <= 12, f"{sum(executions)} executions for {len(ids)} receipts"


async def test_the_look_up_is_one_statement_whatever_the_count(sent: Resources) -> None:
    """Callbacks come a few to a hundred to a transaction: an IN list would be a new
    statement for each count (prepared again by asyncpg, parsed and planned again)."""
    looked_up: list[tuple[str, int]] = []

    def grab(_conn: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, _many: bool) -> None:
        if sql.lstrip().startswith("SELECT delivery.provider_id, delivery.id"):
            looked_up.append((sql, len(params)))

    async with transaction(sent.db) as session:
        ids = list(await session.scalars(select(Delivery.id).order_by(Delivery.id)))
        engine = session.bind.sync_engine  # type: ignore[union-attr]
        event.listen(engine, "before_cursor_execute", grab)
        try:
            for part in (ids[:7], ids[7:100]):
                await apply_receipts(session, "wechat", [Receipt(str(i), True, "") for i in part])
        finally:
            event.remove(engine, "before_cursor_execute", grab)
    assert len(looked_up) == 2
    assert len({sql for sql, _ in looked_up}) == 1, "a statement for each count of ids"
    assert max(n for _, n in looked_up) <= 3
