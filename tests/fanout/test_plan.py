"""Planning in chunks: interrupted, resumed, re-run, concurrent; one delivery per resident.

Run on both databases: on PostgreSQL two chunks are planned at once, so a
chunk after the one that failed may already be committed when planning stops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from pusher.db import grown_enough, transaction
from pusher.models import Delivery, Push, Region, Resident, Urgency
from pusher.runtime import jobs
from pusher.runtime.context import Resources
from pusher.runtime.resources import open_resources
from pusher.settings import Settings
from tests.fanout.rig import RecordingQueue, WorkerDied
from tests.spine.conftest import start
from tests.spine.flow import publish

CHUNK = 37  # residents per chunk: 200 residents make 6 chunks


@dataclass
class DiesOnChunk(RecordingQueue):
    """A queue whose enqueue of chunk ``number``'s dispatch kills the planner."""

    number: int = 0

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None) -> None:
        if job_id and job_id.endswith(f":chunk:{self.number}"):
            raise WorkerDied(f"killed after chunk {self.number}")
        await super().enqueue(name, *args, job_id=job_id)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.production)])
def base_settings(request: pytest.FixtureRequest) -> Settings:
    name = "sqlite_settings" if request.param == "sqlite" else "production_settings"
    base: Settings = request.getfixturevalue(name)
    dispatch = base.dispatch.model_copy(update={"plan_chunk": CHUNK})
    return base.model_copy(update={"dispatch": dispatch})


@pytest.fixture
async def settings(base_settings: Settings) -> AsyncIterator[Settings]:
    """Settings of a migrated database with a town of 200 residents."""
    await start(base_settings, residents=200)
    yield base_settings


async def _urgent_item(r: Resources) -> int:
    """A town-wide urgent item: every resident is in its audience."""
    async with r.db() as session:
        code = await session.scalar(select(Region.code).where(Region.kind == "town"))
    assert code is not None
    return await publish(
        r, region_code=code, title="青山镇山洪预警", body="请立即转移。", urgency=Urgency.URGENT
    )


async def _process(settings: Settings, item_id: int, queue: RecordingQueue) -> int | None:
    async with open_resources(settings, queue=queue) as r:
        return await jobs.process_item({"resources": r}, item_id)


async def _state(r: Resources, item_id: int) -> tuple[Push, list[int], int]:
    """The push, its residents' ids (as planned, with repeats) and its chat row count."""
    async with r.db() as session:
        push = await session.scalar(select(Push).where(Push.item_id == item_id))
        assert push is not None
        rows = (
            await session.execute(
                select(Delivery.resident_id, Delivery.group_chat_id).where(
                    Delivery.push_id == push.id
                )
            )
        ).all()
    residents = [resident for resident, _ in rows if resident is not None]
    return push, residents, sum(1 for _, chat in rows if chat is not None)


async def _resident_ids(r: Resources) -> list[int]:
    async with r.db() as session:
        return sorted(i for i in await session.scalars(select(Resident.id)) if i is not None)


def _chunks_told(queue: RecordingQueue) -> list[int]:
    return [
        int(job_id.rsplit(":", 1)[1])
        for name, _, job_id in queue.jobs
        if job_id and name == "dispatch"
    ]


async def test_planning_killed_after_a_chunk_resumes_and_plans_everyone_once(
    settings: Settings,
) -> None:
    async with open_resources(settings, queue=RecordingQueue()) as r:
        item_id = await _urgent_item(r)
        everyone = await _resident_ids(r)
        with pytest.raises(WorkerDied):
            await _process(settings, item_id, DiesOnChunk(number=2))
        push, planned, _ = await _state(r, item_id)
        assert push.status == "planning"
        assert push.planned_upto == 2 * CHUNK  # progress stops at the last chunk told
        # progress is never ahead of the rows: every resident up to it has a delivery
        assert {i for i in everyone if i <= push.planned_upto} <= set(planned)

        queue = RecordingQueue()
        assert await _process(settings, item_id, queue) == push.id
        push, planned, chats = await _state(r, item_id)
    assert sorted(planned) == everyone  # each resident exactly once
    assert chats > 0
    assert push.status == "dispatching"
    assert push.planned == len(everyone) + chats
    assert push.planned_upto == max(everyone)
    told = sorted(set(_chunks_told(queue)))
    assert told == list(range(1, told[-1] + 1))


async def test_rows_beyond_the_recorded_progress_are_not_planned_twice(
    settings: Settings,
) -> None:
    """Chunks committed but not recorded (a crash between the two) are planned again."""
    async with open_resources(settings, queue=RecordingQueue()) as r:
        item_id = await _urgent_item(r)
        assert await _process(settings, item_id, RecordingQueue()) is not None
        push, planned, chats = await _state(r, item_id)
        async with transaction(r.db) as session:
            await session.execute(
                update(Push).where(Push.id == push.id).values(status="planning", planned_upto=0)
            )
        await _process(settings, item_id, RecordingQueue())
        again, planned_again, chats_again = await _state(r, item_id)
        async with r.db() as session:
            total = await session.scalar(select(func.count()).select_from(Delivery))
    assert sorted(planned_again) == sorted(planned) == sorted(set(planned))
    assert chats_again == chats
    assert again.planned == total == len(planned) + chats
    assert again.planned_upto == max(planned)


async def _planned_and_known(settings: Settings) -> tuple[int | None, float | None]:
    """Push an urgent item to a town of 200; the delivery rows, and what the statistics say."""
    await start(settings, residents=200)
    queue = RecordingQueue()
    async with open_resources(settings, queue=queue) as r:
        item_id = await _urgent_item(r)
    assert await _process(settings, item_id, queue) is not None
    async with open_resources(settings, queue=queue) as r, r.db() as session:
        planned = await session.scalar(select(func.count()).select_from(Delivery))
        known = await session.scalar(
            text("SELECT reltuples FROM pg_class WHERE relname = 'delivery'")
        )
    return planned, known


@pytest.mark.production
async def test_a_push_of_several_chunks_leaves_fresh_statistics(
    production_settings: Settings,
) -> None:
    """After its first chunk and at its end, a big push has PostgreSQL analyze the
    delivery table: nothing else does until autovacuum comes by (never where it is
    off, as on this machine's server), and plans priced on the empty table read a
    county's rows whole."""
    dispatch = production_settings.dispatch.model_copy(update={"plan_chunk": CHUNK})
    settings = production_settings.model_copy(update={"dispatch": dispatch})
    planned, known = await _planned_and_known(settings)
    assert planned is not None and planned >= 200
    assert known == planned, f"the statistics say {known} rows, the table has {planned}"


@pytest.mark.production
async def test_a_first_large_push_of_one_chunk_leaves_fresh_statistics(
    production_settings: Settings,
) -> None:
    """A push of one chunk into a table never analyzed: without statistics the planner
    priced a look-up of 100 provider ids by their index as a scan of the whole table
    (``pusher bench county --quick``: PostgreSQL's CPU per delivery up to six times)."""
    planned, known = await _planned_and_known(production_settings)
    assert planned is not None and planned >= 200
    assert known == planned, f"the statistics say {known} rows, the table has {planned}"


def test_statistics_are_taken_again_as_autovacuum_would() -> None:
    assert grown_enough(50, -1) and grown_enough(50, 0)  # never analyzed, or empty
    assert not grown_enough(49, 0)
    assert grown_enough(150, 1_000) and not grown_enough(149, 1_000)
    assert not grown_enough(40, 1_000_000)  # a small town's push in a county's table
