"""The same flow in production mode: PostgreSQL, Redis and a burst arq worker."""

from __future__ import annotations

import pytest

from pusher.demo.expected import expected_audience
from pusher.models import DeliveryStatus, Item, Urgency
from pusher.resources import open_resources
from pusher.settings import Settings
from pusher.worker import build_worker
from tests.spine.conftest import start
from tests.spine.flow import deliveries, inbox_counts, publish

pytestmark = pytest.mark.production


async def test_production_mode_delivers_each_expected_message_once(
    production_settings: Settings,
) -> None:
    town, _ = await start(production_settings, residents=400)
    async with open_resources(production_settings) as r:
        normal = await publish(
            r,
            region_code=town.town_code,
            title="2025年度城乡居民医保缴费通知",
            body="城乡居民医保个人缴费每人每年380元，低保户由财政代缴，请于12月31日前缴费。",
        )
        urgent = await publish(
            r,
            region_code=town.village_codes[2],
            title="南岭村山洪预警",
            urgency=Urgency.URGENT,
            body="南岭村上游水库泄洪，请沿河群众立即转移。",
        )
        worker = build_worker(production_settings, burst=True)
        try:
            await worker.async_run()
        finally:
            await worker.close()
        assert worker.jobs_failed == 0
        counts = await inbox_counts(r)
        for item_id in (normal, urgent):
            rows = await deliveries(r, item_id)
            async with r.db() as session:
                item = await session.get_one(Item, item_id)
                expected = await expected_audience(session, item)
            assert item.status == "pushed"
            assert {d.resident_id for d in rows if d.resident_id} == expected
            sent = [d for d in rows if d.status == DeliveryStatus.DELIVERED]
            assert sent and all(counts[str(d.id)] == 1 for d in sent)
        assert max(counts.values()) == 1
