"""The log's ``queued`` filter reads only pushes that can have queued rows, and finds
every queued row there is (checked against reading the whole table)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from pusher.db import transaction
from pusher.models import Delivery, DeliveryRange, DeliveryStatus, Push, Urgency, utcnow
from pusher.runtime import jobs
from pusher.runtime.context import Resources
from pusher.runtime.resources import open_resources
from pusher.settings import Settings
from pusher.web.delivery_log import LogFilter, conditions, rows_query
from tests.fanout.rig import RecordingQueue
from tests.spine.conftest import start
from tests.spine.flow import publish

QUEUED = DeliveryStatus.QUEUED.value


@pytest.fixture
async def two_pushes(any_settings: Settings) -> AsyncIterator[tuple[Resources, int, int]]:
    """A town of 120 residents and two town-wide pushes planned (none sent yet)."""
    town, _ = await start(any_settings, residents=120)
    async with open_resources(any_settings, queue=RecordingQueue()) as r:
        pushes = []
        for title in ("山洪预警", "停水通知"):
            item_id = await publish(
                r, region_code=town.town_code, title=title, body="请留意。", urgency=Urgency.URGENT
            )
            push_id = await jobs.process_item({"resources": r}, item_id)
            assert push_id is not None
            pushes.append(push_id)
        yield r, pushes[0], pushes[1]


async def _queued(r: Resources, **kw: int) -> tuple[list[int], list[int]]:
    """(the filter's page, every queued row read from the whole table), ids in order."""
    async with r.db() as session:
        where = await conditions(session, LogFilter(status=QUEUED, **kw))
        page = [
            d.id
            for d in await session.scalars(rows_query((Delivery,), where, after=None, limit=10_000))
        ]
        stmt = select(Delivery.id).where(Delivery.status == QUEUED).order_by(Delivery.id)
        if "push_id" in kw:
            stmt = stmt.where(Delivery.push_id == kw["push_id"])
        every = list(await session.scalars(stmt))
    return page, every


async def _went_out(r: Resources, push_id: int) -> None:
    """The push went out as dispatch leaves one: every row delivered, the ranges gone."""
    async with transaction(r.db) as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.push_id == push_id, Delivery.status == QUEUED)
            .values(status=DeliveryStatus.DELIVERED.value, next_attempt_at=None)
        )
        await session.execute(delete(DeliveryRange).where(DeliveryRange.push_id == push_id))
        await session.execute(update(Push).where(Push.id == push_id).values(status="done"))


async def test_fresh_rows_of_pushes_being_sent_are_all_found(
    two_pushes: tuple[Resources, int, int],
) -> None:
    r, _, second = two_pushes
    async with transaction(r.db) as session:  # the group chats' rows (timed) went out
        await session.execute(
            update(Delivery)
            .where(Delivery.next_attempt_at.is_not(None))
            .values(status=DeliveryStatus.DELIVERED.value, next_attempt_at=None)
        )
    page, every = await _queued(r)
    assert len(every) > 100 and page == every  # fresh rows only, in open ranges
    page, every = await _queued(r, push_id=second)
    assert every and page == every


async def test_a_push_that_went_out_is_not_read_but_its_retries_are_found(
    two_pushes: tuple[Resources, int, int],
) -> None:
    r, first, second = two_pushes
    await _went_out(r, first)
    page, every = await _queued(r)
    assert every and page == every  # the second push's fresh rows
    async with transaction(r.db) as session:  # a row of the first is queued again, for later
        retry = await session.scalar(select(Delivery.id).where(Delivery.push_id == first).limit(1))
        await session.execute(
            update(Delivery)
            .where(Delivery.id == retry)
            .values(status=QUEUED, next_attempt_at=utcnow() + timedelta(minutes=5))
        )
    page, every = await _queued(r, push_id=first)
    assert page == every == [retry]
    await _went_out(r, second)
    page, every = await _queued(r)
    assert page == every == [retry]
