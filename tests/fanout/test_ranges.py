"""Fresh planned rows are claimed through their chunk's range: every one, once.

Planned resident rows carry no claim-index entry; dispatch takes them range by
range in resident order. These tests plan a town of 200 residents in chunks of
37, split into claim ranges of 10 (no dispatch), then claim directly, on both databases.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, update

from channels.base import ChannelKind
from pusher.db import SessionFactory, transaction
from pusher.models import (
    Delivery,
    DeliveryRange,
    Item,
    ItemStatus,
    Push,
    Region,
    Urgency,
    utcnow,
)
from pusher.pipeline.claims import Claimed, claim
from pusher.pipeline.dispatch import dispatch
from pusher.pipeline.sweep import due_work, stranded_items
from pusher.runtime import jobs
from pusher.runtime.context import Resources
from pusher.runtime.resources import open_resources
from pusher.settings import Settings
from subscriptions.channel import RESIDENT_CHANNELS
from tests.fanout.rig import ACCEPTED, RecordingQueue, planned_in_chunks, running, urgent_push
from tests.spine.conftest import start
from tests.spine.flow import publish

CHUNK = 37
SPAN = 10  # residents per claim range: four ranges per chunk
LEASE = timedelta(minutes=5)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.production)])
def base_settings(request: pytest.FixtureRequest) -> Settings:
    return planned_in_chunks(request, CHUNK, SPAN)


@pytest.fixture
async def settings(base_settings: Settings) -> AsyncIterator[Settings]:
    await start(base_settings, residents=200)
    yield base_settings


async def _planned_push(settings: Settings, r: Resources) -> tuple[int, int]:
    """Plan (without dispatching) a town-wide urgent item; (item id, push id)."""
    async with r.db() as session:
        code = await session.scalar(select(Region.code).where(Region.kind == "town"))
    assert code is not None
    item_id = await publish(
        r, region_code=code, title="青山镇山洪预警", body="请立即转移。", urgency=Urgency.URGENT
    )
    await _plan(settings, item_id)
    async with r.db() as session:
        push_id = await session.scalar(select(Push.id).where(Push.item_id == item_id))
    assert push_id is not None
    return item_id, push_id


async def _plan(settings: Settings, item_id: int) -> None:
    async with open_resources(settings, queue=RecordingQueue()) as r:
        await jobs.process_item({"resources": r}, item_id)


async def _reachable(db: SessionFactory, push_id: int) -> Counter[int]:
    """Deliveries of ``push_id`` a worker should send, by resident."""
    channels = [kind.value for kind in RESIDENT_CHANNELS]
    async with db() as session:
        rows = await session.scalars(
            select(Delivery.resident_id).where(
                Delivery.push_id == push_id, Delivery.channel.in_(channels)
            )
        )
        return Counter(r for r in rows if r is not None)


async def _claim_all(db: SessionFactory, push_id: int, worker: str, limit: int) -> list[Claimed]:
    """Claim batches of ``limit`` until none is left, over every resident channel."""
    taken: list[Claimed] = []
    for kind in RESIDENT_CHANNELS:
        while True:
            async with transaction(db) as session:
                batch = await claim(
                    session,
                    push_id=push_id,
                    channel=kind.value,
                    worker=worker,
                    limit=limit,
                    lease=LEASE,
                    now=utcnow(),
                )
            if not batch:
                break
            taken += batch
    return taken


async def _open_ranges(db: SessionFactory, push_id: int) -> int:
    async with db() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(DeliveryRange)
                .where(
                    DeliveryRange.push_id == push_id,
                    DeliveryRange.claimed_upto < DeliveryRange.upto_id,
                )
            )
            or 0
        )


async def test_every_planned_row_is_claimed_once_by_workers_claiming_at_once(
    settings: Settings,
) -> None:
    async with open_resources(settings, queue=RecordingQueue()) as r:
        _, push_id = await _planned_push(settings, r)
        expected = await _reachable(r.db, push_id)
        assert await _open_ranges(r.db, push_id) > 0
        batches = await asyncio.gather(
            *(_claim_all(r.db, push_id, f"worker-{n}", limit=7) for n in range(4))
        )
        claimed = Counter(c.resident_id for batch in batches for c in batch)
        assert claimed == expected  # every reachable resident, none twice
        assert sum(1 for batch in batches if batch) > 1  # the work was shared
        assert not any(c.unknown_outcome for batch in batches for c in batch)
        assert await _open_ranges(r.db, push_id) == 0
        resident_work = {(push_id, kind.value) for kind in RESIDENT_CHANNELS}
        assert resident_work.isdisjoint(await due_work(r.db, utcnow()))  # nothing left to sweep


async def test_a_chunk_committed_after_later_ones_were_claimed_is_claimed_too(
    settings: Settings,
) -> None:
    """On PostgreSQL chunks commit out of order: the first may land after dispatch
    has claimed everything after it."""
    async with open_resources(settings, queue=RecordingQueue()) as r:
        item_id, push_id = await _planned_push(settings, r)
        expected = await _reachable(r.db, push_id)
        async with transaction(r.db) as session:  # as if the first chunk had not committed
            first = Delivery.resident_id <= CHUNK
            await session.execute(delete(Delivery).where(Delivery.push_id == push_id, first))
            await session.execute(
                delete(DeliveryRange).where(
                    DeliveryRange.push_id == push_id, DeliveryRange.after_id < CHUNK
                )
            )
            await session.execute(
                update(Push).where(Push.id == push_id).values(status="planning", planned_upto=0)
            )
        before = await _claim_all(r.db, push_id, "early", limit=10)
        assert {c.resident_id for c in before}.isdisjoint(range(CHUNK + 1))

        await _plan(settings, item_id)  # the first chunk commits now
        assert await _reachable(r.db, push_id) == expected
        assert await _open_ranges(r.db, push_id) > 0
        due = await due_work(r.db, utcnow())
        assert {(push_id, kind.value) for kind in RESIDENT_CHANNELS} <= set(due)

        after = await _claim_all(r.db, push_id, "late", limit=10)
    assert Counter(c.resident_id for c in before + after) == expected
    assert {c.resident_id for c in after} <= set(range(CHUNK + 1))


async def test_a_push_whose_planner_died_is_planned_again_after_a_minute_standing_still(
    settings: Settings,
) -> None:
    """A worker killed mid-planning leaves its push in ``planning``: the sweep takes it
    up once no chunk was recorded for a minute (not five minutes after it began)."""
    async with open_resources(settings, queue=RecordingQueue()) as r:
        item_id, push_id = await _planned_push(settings, r)
        expected = await _reachable(r.db, push_id)
        async with r.db() as session:
            push = await session.get_one(Push, push_id)
        assert push.progress_at is not None  # planning recorded its chunks
        assert abs(push.progress_at - utcnow()) < timedelta(minutes=1)
        died = utcnow()
        async with transaction(r.db) as session:  # as if it had died after the first chunk
            later = Delivery.resident_id > CHUNK
            await session.execute(delete(Delivery).where(Delivery.push_id == push_id, later))
            await session.execute(
                delete(DeliveryRange).where(
                    DeliveryRange.push_id == push_id, DeliveryRange.after_id >= CHUNK
                )
            )
            await session.execute(
                update(Push)
                .where(Push.id == push_id)
                .values(status="planning", planned_upto=CHUNK, progress_at=died)
            )
            await session.execute(
                update(Item).where(Item.id == item_id).values(status=ItemStatus.APPROVED)
            )
        assert item_id not in await stranded_items(r.db, died + timedelta(seconds=30))
        assert item_id in await stranded_items(r.db, died + timedelta(seconds=61))

        await _plan(settings, item_id)  # what the sweep's process_item job does
        assert await _reachable(r.db, push_id) == expected
        async with r.db() as session:
            assert (await session.get_one(Push, push_id)).status != "planning"
        assert item_id not in await stranded_items(r.db, utcnow() + timedelta(hours=1))


async def test_an_approved_item_not_yet_planned_waits_five_minutes_for_its_job(
    settings: Settings,
) -> None:
    """No push yet: its job may wait behind a busy queue, so the sweep leaves it alone
    for five minutes before it plans the item itself."""
    async with open_resources(settings, queue=RecordingQueue()) as r:
        async with r.db() as session:
            code = await session.scalar(select(Region.code).where(Region.kind == "town"))
        assert code is not None
        item_id = await publish(r, region_code=code, title="停电通知", body="明日停电。")
        now = utcnow()
        assert item_id not in await stranded_items(r.db, now + timedelta(minutes=2))
        assert item_id in await stranded_items(r.db, now + timedelta(minutes=6))


async def test_rows_that_left_the_queue_before_their_claim_are_skipped(
    settings: Settings,
) -> None:
    """A fresh row failed by someone else (an opt-out, a forgotten resident) is not
    sent; the rest of its range is."""
    async with open_resources(settings, queue=RecordingQueue()) as r:
        _, push_id = await _planned_push(settings, r)
        expected = await _reachable(r.db, push_id)
        gone = sorted(expected)[5:60:3]
        async with transaction(r.db) as session:
            await session.execute(
                update(Delivery)
                .where(Delivery.push_id == push_id, Delivery.resident_id.in_(gone))
                .values(status="failed", error_code="opted_out")
            )
        claimed = await _claim_all(r.db, push_id, "worker", limit=4)
    assert Counter(c.resident_id for c in claimed) == expected - Counter(gone)


async def test_a_push_sent_to_the_end_is_done_and_keeps_no_ranges(
    base_settings: Settings,
) -> None:
    async with running(base_settings, residents=150) as rig:
        push_id = await urgent_push(rig)
        db = rig.resources.db
        assert await _open_ranges(db, push_id) > 0
        for kind in (*RESIDENT_CHANNELS, ChannelKind.WECOM):
            await dispatch(rig.dispatcher("worker"), push_id, kind)
        async with db() as session:
            push = await session.get_one(Push, push_id)
            ranges = await session.scalar(
                select(func.count())
                .select_from(DeliveryRange)
                .where(DeliveryRange.push_id == push_id)
            )
        rows = await rig.deliveries(push_id)
    reachable = [d for d in rows if d.resident_id is not None and d.channel != "none"]
    assert len(reachable) > 100 and all(d.status in ACCEPTED for d in reachable)
    assert push.status == "done"
    assert ranges == 0
