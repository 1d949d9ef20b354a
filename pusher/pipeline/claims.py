"""Claiming deliveries before sending them, with a lease.

A claim flips rows to ``sending`` with this worker's id and a lease; on
PostgreSQL the candidate rows (or the range of fresh rows) are locked with SKIP
LOCKED so two workers never claim the same row, on SQLite the single writer
serialises claims.

Rows come from two places. Rows with a time set (claimed before, re-queued,
deferred, handed over to SMS) are found through the partial claim index. Fresh
planned rows, which have no index entry of their own, are taken range by range
in resident order through the (push, resident) index: each planning chunk's
:class:`~pusher.models.DeliveryRange` remembers how far it has been claimed.

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

from sqlalchemy import ColumnElement, Row, Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.db import SessionFactory, rowcount, transaction
from pusher.models import PERSON_CHANNELS, Delivery, DeliveryRange, DeliveryStatus, aware
from pusher.pipeline.lifecycle_push import cancel_waiting, is_stopped

DT = Delivery.__table__
D = DT.c
RT = DeliveryRange.__table__
R = RT.c
#: A fresh row's claim needs no time back: converting one per row was 6.7% of the
#: workers' samples at the start of a county push (py-spy, 300,000 residents). In
#: Claimed's order, read by position: a Row's attribute costs 0.3 µs, unpacking it
#: next to nothing (reading the rows and making Claimed was about 4% of a persisted
#: WeChat dispatch's samples, the whole claim 9%).
FRESH_OUT = (D.id, D.recipient, D.resident_id, D.attempts)
OUT = (*FRESH_OUT, D.next_attempt_at)


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    recipient: str
    resident_id: int | None
    attempts: int
    unknown_outcome: bool
    #: of a row of unknown outcome, when its last call may have reached the provider
    sent_at: datetime | None = None


def _timed(push_id: int, channel: str, now: datetime, *, expired: bool) -> Select[tuple[int]]:
    """Rows with a time set that are due: leases run out, or queued rows whose time came."""
    timed = D.next_attempt_at.is_not(None)  # the claim index holds only these
    if expired:
        state = (D.status == DeliveryStatus.SENDING.value) & (D.lease_until < now)
    else:
        state = (D.status == DeliveryStatus.QUEUED.value) & (D.next_attempt_at <= now)
    # index order (ix_delivery_claim): no sort of every due row of a large push per claim
    order = D.lease_until if expired else D.next_attempt_at
    where = (D.push_id == push_id, D.channel == channel, timed, state)
    return select(D.id).where(*where).order_by(order)


def _fresh() -> ColumnElement[bool]:
    return (D.status == DeliveryStatus.QUEUED.value) & D.next_attempt_at.is_(None)


def _in_range(push_id: int, channel: str, after: Any, upto: Any) -> ColumnElement[bool]:
    """Rows of ``push_id`` and ``channel`` with resident ids in (after, upto]: the
    bounds are numbers, or a range row's columns in a correlated subquery."""
    return (
        (D.push_id == push_id)
        & (D.resident_id > after)
        & (D.resident_id <= upto)
        & (D.channel == channel)
    )


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
    """Claim up to ``limit`` due deliveries: expired leases first, then rows due
    again, then fresh rows in resident order."""
    if channel in PERSON_CHANNELS:  # the keeper relays, the owner confirms: never sent here
        return []
    if await is_stopped(session, push_id):  # stopped: cancel what waits, send nothing
        await cancel_waiting(session, push_id, now=now, channel=channel)
        return []
    values = {
        "status": DeliveryStatus.SENDING.value,
        "claimed_by": worker,
        "lease_until": now + lease,
        "attempts": D.attempts + 1,
    }
    claimed: list[Claimed] = []
    # On SQLite these UPDATEs also take the write lock before the ranges are read.
    for expired in (True, False):
        if len(claimed) >= limit:
            break
        candidates = _timed(push_id, channel, now, expired=expired).limit(limit - len(claimed))
        if session.bind.dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True)
        # a row sent now is stamped now; a reclaimed row of unknown outcome keeps the time
        # its call was made (a look-up reads it as the message's age)
        stamped = values if expired else values | {"next_attempt_at": now}
        result = await session.execute(
            update(DT).where(D.id.in_(candidates.scalar_subquery())).values(stamped).returning(*OUT)
        )
        claimed += [
            Claimed(row_id, to, resident, attempts, expired, aware(at) if expired else None)
            for row_id, to, resident, attempts, at in result
        ]
    if len(claimed) < limit:
        fresh = await _claim_fresh(
            session, push_id, channel, limit - len(claimed), values | {"next_attempt_at": now}
        )
        claimed += [Claimed(i, to, resident, n, False) for i, to, resident, n in fresh]
    claimed.sort(key=lambda c: c.id)
    return claimed


async def _claim_fresh(
    session: AsyncSession, push_id: int, channel: str, limit: int, values: dict[str, Any]
) -> list[Row[Any]]:
    """Claim up to ``limit`` fresh rows range by range, moving each range on.

    A range is locked while it is claimed from (PostgreSQL: another worker skips
    to the next range; SQLite: the claim already holds the write lock), so
    ``claimed_upto`` only moves past rows that this transaction claimed.
    """
    rows: list[Row[Any]] = []
    while len(rows) < limit:
        span = await _open_range(session, push_id, channel)
        if span is None:
            break
        after_id, upto_id, claimed_upto = span
        need = limit - len(rows)
        in_range = _in_range(push_id, channel, claimed_upto, upto_id)
        candidates = select(D.id).where(in_range, _fresh()).order_by(D.resident_id).limit(need)
        got = list(
            await session.execute(
                update(DT)
                .where(D.id.in_(candidates.scalar_subquery()), _fresh())
                .values(values)
                .returning(*FRESH_OUT)
            )
        )
        rows += got
        reached = max((row[2] for row in got), default=claimed_upto)  # FRESH_OUT's resident_id
        if len(got) < need:
            left = await session.scalar(select(D.id).where(in_range, _fresh()).limit(1))
            if left is None:
                reached = upto_id  # nothing fresh left in the range: close it
            elif not got:
                break  # fresh rows another writer holds: leave them for the next claim
        await session.execute(
            update(RT)
            .where(R.push_id == push_id, R.channel == channel, R.after_id == after_id)
            .values(claimed_upto=reached)
        )
    return rows


async def _open_range(
    session: AsyncSession, push_id: int, channel: str
) -> tuple[int, int, int] | None:
    """The first range of ``push_id`` and ``channel`` with fresh rows maybe left, locked."""
    query = (
        select(R.after_id, R.upto_id, R.claimed_upto)
        .where(R.push_id == push_id, R.channel == channel, R.claimed_upto < R.upto_id)
        .order_by(R.after_id)
        .limit(1)
    )
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    row = (await session.execute(query)).first()
    return None if row is None else (int(row[0]), int(row[1]), int(row[2]))


async def hold_until(session: AsyncSession, push_id: int, channel: str, when: datetime) -> int:
    """Move the queued rows of ``push_id`` and ``channel`` due before ``when`` to
    ``when`` (quiet hours); returns how many moved.

    Fresh rows get a time too, so they are found through the claim index from
    then on; the ranges left without fresh rows are closed, or the sweeper would
    see them open and start a dispatch every pass until ``when``. The ranges are
    checked in a statement of their own: a chunk committed in between keeps its
    range open, and its rows are held by the next pass.
    """
    moved = await session.execute(
        update(DT)
        .where(
            D.push_id == push_id,
            D.channel == channel,
            D.status == DeliveryStatus.QUEUED.value,
            D.next_attempt_at.is_(None) | (D.next_attempt_at < when),
        )
        .values(next_attempt_at=when)
    )
    fresh_left = select(D.id).where(
        _in_range(push_id, channel, R.claimed_upto, R.upto_id), _fresh()
    )
    await session.execute(
        update(RT)
        .where(
            R.push_id == push_id,
            R.channel == channel,
            R.claimed_upto < R.upto_id,
            ~fresh_left.exists(),
        )
        .values(claimed_upto=R.upto_id)
    )
    return rowcount(moved)


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
                    update(DT)
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
