"""Scale-out: three ``pusher worker`` processes share one push and send each message once."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import select

from pusher.models import Delivery, DeliveryStatus, Push, SandboxMessage, Urgency
from pusher.runtime.resources import open_resources
from pusher.settings import Settings
from tests.ops.conftest import Workers, wait_until_final
from tests.spine.conftest import start
from tests.spine.flow import publish

pytestmark = pytest.mark.production

RESIDENTS = 20_000
ACCEPTED = (DeliveryStatus.SENT.value, DeliveryStatus.DELIVERED.value)


async def test_three_workers_share_a_push_and_each_resident_gets_one_message(
    production_settings: Settings, workers: Workers
) -> None:
    town, _ = await start(production_settings, residents=RESIDENTS)
    # Small planning chunks: many dispatch jobs, so every worker gets some of them.
    procs = [workers.spawn(PUSHER_DISPATCH__PLAN_CHUNK="200") for _ in range(3)]
    for proc in procs:
        await asyncio.to_thread(proc.wait_started)
    async with open_resources(production_settings) as r:
        item_id = await publish(
            r,
            region_code=town.town_code,
            title="青山镇防汛应急预警",
            body="受强降雨影响，请全镇居民远离河道，低洼地带群众做好转移准备。",
            urgency=Urgency.URGENT,
        )
        await wait_until_final(r, item_id, within=45)
        async with r.db() as session:
            rows = (
                await session.execute(
                    select(Delivery.id, Delivery.resident_id, Delivery.status, Delivery.claimed_by)
                    .join(Push, Push.id == Delivery.push_id)
                    .where(Push.item_id == item_id)
                )
            ).all()
            kept = Counter((await session.scalars(select(SandboxMessage.key))).all())
    residents = [row for row in rows if row.resident_id is not None]
    assert len({row.resident_id for row in residents}) == len(residents) > RESIDENTS * 0.9
    # accepted by the channel: "delivered" at once where it sends no receipts (the sandbox)
    sent = [row for row in rows if row.status in ACCEPTED]
    assert sent, f"nothing was sent: {Counter(row.status for row in rows)}"
    assert max(kept.values()) == 1, "some recipient got the same message twice"
    assert sum(kept.values()) == len(sent)
    assert all(kept[str(row.id)] == 1 for row in sent)
    pids = {int(row.claimed_by.split(":")[1]) for row in rows if row.claimed_by}
    assert pids == {proc.pid for proc in procs}, "not every worker took part"
    for proc in procs:
        assert await asyncio.to_thread(proc.terminate, 15.0) < 15.0
        assert proc.process.returncode == 0, proc.output()[-2000:]
