"""A push to a small region plans only that region's residents, however big the town.

The town has 200 residents, planned in chunks of 45 with claim ranges of 10; one village
holds 40 of them, spread over the whole id range (the demo deals residents to grids in
turn). Planning the village's push is one chunk between its first and last resident
with about 10 of its residents per claim range: not the town's five chunks and twenty
ranges per channel, most of them empty.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from pusher.models import Delivery, DeliveryRange, Push, Region, Resident, Urgency
from pusher.runtime import jobs
from pusher.runtime.resources import open_resources
from pusher.settings import Settings
from subscriptions.channel import RESIDENT_CHANNELS
from tests.fanout.rig import RecordingQueue, planned_in_chunks
from tests.spine.conftest import start
from tests.spine.flow import publish

CHUNK = 45
SPAN = 10
RESIDENTS = 200


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.production)])
def base_settings(request: pytest.FixtureRequest) -> Settings:
    return planned_in_chunks(request, CHUNK, SPAN)


@pytest.fixture
async def settings(base_settings: Settings) -> AsyncIterator[Settings]:
    await start(base_settings, residents=RESIDENTS)
    yield base_settings


async def test_a_village_push_plans_one_chunk_of_its_own_residents(settings: Settings) -> None:
    queue = RecordingQueue()
    async with open_resources(settings, queue=queue) as r:
        async with r.db() as session:
            village = await session.scalar(
                select(Region).where(Region.kind == "village").order_by(Region.id).limit(1)
            )
            assert village is not None
            inside = select(Region.id).where(Region.path.startswith(village.path))
            theirs = set(
                await session.scalars(select(Resident.id).where(Resident.region_id.in_(inside)))
            )
        assert 0 < len(theirs) <= CHUNK
        assert max(theirs) - min(theirs) > 3 * CHUNK  # spread over the town's ids
        item_id = await publish(
            r,
            region_code=village.code,
            title="山洪预警",
            body="请立即转移。",
            urgency=Urgency.URGENT,
        )
        push_id = await jobs.process_item({"resources": r}, item_id)
        assert push_id is not None
        async with r.db() as session:
            planned = set(
                await session.scalars(
                    select(Delivery.resident_id).where(
                        Delivery.push_id == push_id, Delivery.resident_id.is_not(None)
                    )
                )
            )
            ranges = dict(
                (
                    await session.execute(
                        select(DeliveryRange.channel, func.count())
                        .where(DeliveryRange.push_id == push_id)
                        .group_by(DeliveryRange.channel)
                    )
                ).all()
            )
            covered = (
                await session.execute(
                    select(func.min(DeliveryRange.after_id), func.max(DeliveryRange.upto_id)).where(
                        DeliveryRange.push_id == push_id
                    )
                )
            ).one()
            upto = await session.scalar(select(Push.planned_upto).where(Push.id == push_id))
    assert planned == theirs  # the whole village, nobody else
    chunks = {job_id for name, _, job_id in queue.jobs if name == "dispatch" and job_id}
    numbers = {int(j.rsplit(":", 1)[1]) for j in chunks if ":chunk:" in j}
    assert numbers == {1, 2}  # one chunk, then the call after the last
    for kind in RESIDENT_CHANNELS:  # about SPAN of the village's residents per range
        assert ranges.get(kind.value, 0) <= -(-len(theirs) // SPAN) + 1, ranges
    assert covered == (min(theirs) - 1, max(theirs))
    assert upto == max(theirs)
