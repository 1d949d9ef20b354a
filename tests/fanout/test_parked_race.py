"""Parked receipts taken by two transactions at once (PostgreSQL): one takes them, the
other skips them instead of waiting, so the two never deadlock.

Every dispatch job and the sweep take parked receipts when they finish, and a worker
takes those of the ids it has just written. Before, a transaction that had taken the
parked rows waited on a delivery row another transaction held, while that one waited on
the parked rows: PostgreSQL then killed one of them (seen in CI with two jobs per channel).
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select, text, update
from sqlmodel import col

from pusher.db import SessionFactory, transaction
from pusher.models import Delivery, DeliveryStatus, PendingReceipt, utcnow
from pusher.pipeline.receipts import apply_all_parked, apply_parked
from pusher.settings import Settings
from tests.fanout.rig import running
from tests.fanout.test_receipts import _sms_push


async def _blocked(rig_db: SessionFactory, seconds: float = 5.0) -> bool:
    """Whether some backend of this database waits for a lock (polled)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        async with rig_db() as session:
            waiting = await session.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        if waiting:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_a_worker_skips_parked_receipts_the_sweep_holds(
    production_settings: Settings,
) -> None:
    async with running(production_settings) as rig:
        push_id = await _sms_push(rig)
        rows = [d for d in await rig.deliveries(push_id) if d.channel == "sms" and d.provider_id]
        mine, other = rows[0], rows[1]
        assert mine.provider_id and other.provider_id
        db = rig.resources.db
        async with transaction(db) as session:  # sent, their reports parked (they came early)
            await session.execute(
                update(Delivery)
                .where(col(Delivery.id).in_([mine.id, other.id]))
                .values(status=DeliveryStatus.SENT, done_at=None)
            )
            for d in (mine, other):
                session.add(
                    PendingReceipt(
                        provider="aliyun", provider_id=d.provider_id, delivered=True,
                        code="DELIVERED", received_at=utcnow(),
                    )
                )  # fmt: skip

        worker_holds_row = asyncio.Event()
        worker_may_go_on = asyncio.Event()
        taken_by_worker: list[set[int]] = []

        async def worker() -> None:
            """Writes its row (holding its lock), then takes that row's parked receipt."""
            async with transaction(db) as session:
                await session.execute(
                    update(Delivery).where(col(Delivery.id) == mine.id).values(claimed_by="w1")
                )
                worker_holds_row.set()
                await worker_may_go_on.wait()
                taken_by_worker.append(await apply_parked(session, "aliyun", [mine.provider_id]))

        async def sweep() -> None:
            async with transaction(db) as session:
                await apply_all_parked(session)

        held = asyncio.create_task(worker())
        await worker_holds_row.wait()
        swept = asyncio.create_task(sweep())  # takes both parked rows, then waits for mine
        assert await _blocked(db), "the sweep should wait for the worker's row"
        worker_may_go_on.set()
        await asyncio.wait_for(asyncio.gather(held, swept), timeout=30)

        async with db() as session:
            statuses = dict(
                (
                    await session.execute(
                        select(Delivery.id, Delivery.status).where(
                            col(Delivery.id).in_([mine.id, other.id])
                        )
                    )
                ).all()
            )
            parked = await session.scalar(select(func.count()).select_from(PendingReceipt))
    assert taken_by_worker == [set()]  # nothing to fall back to: applied by the sweep
    assert statuses == {mine.id: "delivered", other.id: "delivered"}
    assert parked == 0
