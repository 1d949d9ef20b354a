"""Claiming deliveries before sending them, with a lease.

A claim flips rows to ``sending`` with this worker's id and a lease in one
statement; on PostgreSQL the candidate rows are locked with SKIP LOCKED so two
workers never claim the same row, on SQLite the single writer serialises claims.
A row whose lease ran out was claimed by a worker that died, maybe after the
provider call: it is reclaimed as *unknown outcome* and checked with the
provider before it is sent again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.db import SessionFactory, transaction
from pusher.models import Delivery, DeliveryStatus

D = Delivery.__table__.c


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    recipient: str
    resident_id: int | None
    attempts: int
    unknown_outcome: bool


def _due(push_id: int, channel: str, now: datetime, *, expired: bool) -> Select[tuple[int]]:
    if expired:
        state = (D.status == DeliveryStatus.SENDING.value) & (D.lease_until < now)
    else:
        state = (D.status == DeliveryStatus.QUEUED.value) & (D.next_attempt_at <= now)
    # index order (ix_delivery_claim): no sort of every due row of a large push per claim
    order = D.lease_until if expired else D.next_attempt_at
    return select(D.id).where(D.push_id == push_id, D.channel == channel, state).order_by(order)


async def claim(
    session: AsyncSession,
    *,
    push_id: int,
    channel: str,
    worker: str,
    limit: int,
    lease: timedelta,
    now: datetime,
) -> list[Claimed]:
    """Claim up to ``limit`` due deliveries; expired leases first."""
    claimed: list[Claimed] = []
    for expired in (True, False):
        if len(claimed) >= limit:
            break
        candidates = _due(push_id, channel, now, expired=expired).limit(limit - len(claimed))
        if session.bind.dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        result = await session.execute(
            update(Delivery.__table__)
            .where(D.id.in_(candidates.scalar_subquery()))
            .values(
                status=DeliveryStatus.SENDING.value,
                claimed_by=worker,
                lease_until=now + lease,
                attempts=D.attempts + 1,
            )
            .returning(D.id, D.recipient, D.resident_id, D.attempts)
        )
        claimed += [Claimed(r.id, r.recipient, r.resident_id, r.attempts, expired) for r in result]
    claimed.sort(key=lambda c: c.id)
    return claimed


@asynccontextmanager
async def leases_kept(
    db: SessionFactory,
    ids: Sequence[int],
    *,
    worker: str,
    lease: timedelta,
    clock: Callable[[], datetime],
    writes: AbstractAsyncContextManager[Any],
) -> AsyncIterator[None]:
    """Extend the lease on ``ids`` every third of it while the block runs: a slow
    provider call is not a dead worker, and its rows must not be taken over."""
    stop = asyncio.Event()

    async def beat() -> None:
        while True:
            try:
                await asyncio.wait_for(stop.wait(), lease.total_seconds() / 3)
                return
            except TimeoutError:
                pass
            async with writes, transaction(db) as session:
                await session.execute(
                    update(Delivery.__table__)
                    .where(
                        D.id.in_(list(ids)),
                        D.claimed_by == worker,
                        D.status == DeliveryStatus.SENDING.value,
                    )
                    .values(lease_until=clock() + lease)
                )

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        stop.set()
        await task  # a renewal under way finishes; none starts after the block
