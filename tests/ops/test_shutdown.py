"""Graceful shutdown: a ``pusher worker`` stopped mid-push exits promptly and loses nothing."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from pusher.models import Delivery, DeliveryStatus, SandboxMessage, Urgency
from pusher.runtime.context import Resources
from pusher.runtime.resources import open_resources
from pusher.runtime.worker import build_worker
from pusher.settings import DispatchSettings, QuietHours, Settings
from tests.ops.conftest import Workers, is_final
from tests.spine.conftest import start
from tests.spine.flow import publish

pytestmark = pytest.mark.production

LEASE = 5
EXIT_WITHIN = 15.0


async def _status_counts(r: Resources) -> Counter[str]:
    async with r.db() as session:
        rows = await session.execute(
            select(Delivery.status, func.count()).group_by(Delivery.status)
        )
        return Counter({str(status): int(n) for status, n in rows})


async def _wait_for_first_send(r: Resources, *, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        counts = await _status_counts(r)
        if counts[DeliveryStatus.SENT.value] + counts[DeliveryStatus.DELIVERED.value]:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the worker sent nothing")


async def _stop_mid_push(settings: Settings, workers: Workers) -> Counter[str]:
    """Stop a worker by SIGTERM mid-push, check how it stopped, finish the push with a
    fresh worker; returns how many messages the sandbox kept per delivery key."""
    town, _ = await start(settings, residents=10_000)
    worker = workers.spawn(
        PUSHER_DISPATCH__PLAN_CHUNK="100", PUSHER_DISPATCH__LEASE_SECONDS=str(LEASE)
    )
    await asyncio.to_thread(worker.wait_started)
    async with open_resources(settings) as r:
        item_id = await publish(
            r,
            region_code=town.town_code,
            title="青山镇停水通知",
            urgency=Urgency.URGENT,
            body="因管网抢修，今日全镇停水，请居民提前储水。",
        )
        await _wait_for_first_send(r, within=30)
        took = await asyncio.to_thread(worker.terminate, EXIT_WITHIN + 5)
        stopped_at = datetime.now(UTC)
        assert took < EXIT_WITHIN, worker.output()[-2000:]
        assert worker.process.returncode == 0, worker.output()[-2000:]
        leases = await _held_leases(r)
        # The stop came mid-push, so what follows means something.
        assert (await _status_counts(r))[DeliveryStatus.QUEUED.value] or leases
        # Rows it held keep a lease that runs out: never a claim for ever.
        assert all(
            lease is not None and lease.replace(tzinfo=UTC) <= stopped_at + timedelta(seconds=LEASE)
            for lease in leases
        )
        if leases:
            await asyncio.sleep(LEASE + 0.5)
        # Each burst worker sweeps once at startup, as a running one does every 15 s.
        for _ in range(4):
            await _run_burst_worker(settings)
            if await is_final(r, item_id):
                break
        assert await is_final(r, item_id), "the push was not finished after the stop"
        async with r.db() as session:
            sent = await session.scalar(
                select(func.count()).where(
                    Delivery.status.in_([DeliveryStatus.SENT.value, DeliveryStatus.DELIVERED.value])
                )
            )
            kept = Counter((await session.scalars(select(SandboxMessage.key))).all())
    assert sent and len(kept) == sent, "a sent delivery has no message, or the reverse"
    return kept


async def _held_leases(r: Resources) -> list[datetime | None]:
    async with r.db() as session:
        return list(
            await session.scalars(
                select(Delivery.lease_until).where(Delivery.status == DeliveryStatus.SENDING.value)
            )
        )


async def _run_burst_worker(settings: Settings) -> None:
    """A worker that sweeps (expired leases, due retries), works the queue and stops."""
    settings = settings.model_copy(
        update={
            "dispatch": DispatchSettings(lease_seconds=LEASE),
            "quiet_hours": QuietHours(start=0, end=0),
        }
    )
    worker = build_worker(settings, burst=True)
    try:
        await worker.async_run()
    finally:
        await worker.close()


async def test_sigterm_mid_push_exits_promptly_and_a_later_worker_finishes_the_push(
    production_settings: Settings, workers: Workers
) -> None:
    await _stop_mid_push(production_settings, workers)


async def test_a_batch_cut_off_by_sigterm_is_not_sent_twice(
    production_settings: Settings, workers: Workers
) -> None:
    kept = await _stop_mid_push(production_settings, workers)
    assert max(kept.values()) == 1, "a resident got the same message twice"
