"""The same flow in production mode: PostgreSQL, Redis and a burst arq worker."""

from __future__ import annotations

import pytest

from pusher.demo.expected import expected_for, region_code
from pusher.demo.items import SAMPLES
from pusher.models import DeliveryStatus, Item, Urgency
from pusher.runtime.resources import open_resources
from pusher.runtime.worker import build_worker
from pusher.settings import Settings
from tests.spine.conftest import start
from tests.spine.flow import deliveries, inbox_counts, publish

pytestmark = pytest.mark.production


async def test_production_mode_delivers_each_expected_message_once(
    production_settings: Settings,
) -> None:
    town, _ = await start(production_settings, residents=400)
    # the demo's 医保 notice (subscribers of 社会保险) and its town-wide rainstorm warning;
    # whom each must reach comes from how the town was built, not from the pipeline
    samples = [s for s in SAMPLES if "医疗保险" in s.title or s.urgency is Urgency.URGENT]
    assert {s.urgency for s in samples} == {Urgency.NORMAL, Urgency.URGENT}
    async with open_resources(production_settings) as r:
        published = {
            await publish(
                r,
                region_code=region_code(town, sample),
                title=sample.title,
                body=sample.body,
                urgency=sample.urgency,
                domain=sample.domain,
            ): sample
            for sample in samples
        }
        worker = build_worker(production_settings, burst=True)
        try:
            await worker.async_run()
        finally:
            await worker.close()
        assert worker.jobs_failed == 0
        counts = await inbox_counts(r)
        for item_id, sample in published.items():
            rows = await deliveries(r, item_id)
            async with r.db() as session:
                item = await session.get_one(Item, item_id)
                expected = set((await expected_for(session, town, sample)).residents)
            assert item.status == "pushed"
            assert expected and {d.resident_id for d in rows if d.resident_id} == expected
            sent = [d for d in rows if d.status == DeliveryStatus.DELIVERED]
            assert sent and all(counts[str(d.id)] == 1 for d in sent)
        assert max(counts.values()) == 1
