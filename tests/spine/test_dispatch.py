"""Dispatch claims before sending: running it twice, or twice at once, sends once."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from channels.base import Channel, ChannelKind, Message, Outcome
from pusher.db import transaction
from pusher.models import Delivery, DeliveryStatus, Push
from pusher.pipeline.dispatch import dispatch, quiet_until
from pusher.runtime.queue import LocalQueue
from pusher.runtime.resources import bind_local, open_resources
from pusher.settings import QuietHours, Settings
from tests.spine.conftest import Service, start
from tests.spine.flow import deliveries, inbox_counts, publish


async def _planned_but_unsent(service: Service) -> int:
    """An item whose deliveries were sent, then put back in the queue, due now (as the
    office's retry does): as if never dispatched."""
    r = service.resources
    item_id = await publish(
        r,
        region_code=service.town.town_code,
        title="暴雨红色预警",
        body="请立即转移。",
        urgency="urgent",
    )  # type: ignore[arg-type]
    assert isinstance(r.queue, LocalQueue)
    await r.queue.join()
    async with transaction(r.db) as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.status == DeliveryStatus.DELIVERED)
            .values(
                status=DeliveryStatus.QUEUED,
                provider_id=None,
                attempts=0,
                next_attempt_at=datetime.now(UTC),
            )
        )
        await session.execute(update(Push).values(status="dispatching"))
        from sqlalchemy import delete

        from pusher.models import SandboxMessage

        await session.execute(delete(SandboxMessage))
    return item_id


async def test_dispatch_run_twice_sends_each_message_once(service: Service) -> None:
    r = service.resources
    item_id = await _planned_but_unsent(service)
    push_id = (await deliveries(r, item_id))[0].push_id
    first = await dispatch(r.dispatcher(), push_id, ChannelKind.SMS)
    second = await dispatch(r.dispatcher(), push_id, ChannelKind.SMS)
    assert first.sent > 0 and second.sent == 0
    counts = await inbox_counts(r)
    assert sum(counts.values()) == first.sent and max(counts.values()) == 1


async def test_two_workers_at_once_send_each_message_once(service: Service) -> None:
    r = service.resources
    item_id = await _planned_but_unsent(service)
    push_id = (await deliveries(r, item_id))[0].push_id
    workers = [replace(r.dispatcher(), worker=name) for name in ("w1", "w2")]
    tallies = await asyncio.gather(
        *(dispatch(w, push_id, kind) for w in workers for kind in ChannelKind)
    )
    rows = await deliveries(r, item_id)
    sent = [d for d in rows if d.status == DeliveryStatus.DELIVERED]
    counts = await inbox_counts(r)
    assert sum(t.sent for t in tallies) == len(sent) == sum(counts.values())
    assert max(counts.values()) == 1


async def test_expired_lease_is_taken_over_and_sent_once(service: Service) -> None:
    """A worker died after claiming: its rows are taken over once the lease runs out."""
    r = service.resources
    item_id = await _planned_but_unsent(service)
    push_id = (await deliveries(r, item_id))[0].push_id
    past = datetime.now(UTC) - timedelta(minutes=5)
    async with transaction(r.db) as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.status == DeliveryStatus.QUEUED)
            .values(status=DeliveryStatus.SENDING, claimed_by="dead", lease_until=past, attempts=1)
        )
    tally = await dispatch(r.dispatcher(), push_id, ChannelKind.WECHAT)
    rows = [d for d in await deliveries(r, item_id) if d.channel == "wechat"]
    assert tally.sent == len(rows) > 0
    assert all(d.status == DeliveryStatus.DELIVERED and d.attempts == 2 for d in rows)


def test_quiet_hours_hold_normal_items_until_morning() -> None:
    quiet = QuietHours()
    late = datetime(2026, 11, 22, 14, 30, tzinfo=UTC)  # 22:30 in Shanghai
    morning = quiet_until(late, quiet)
    assert morning is not None
    assert morning.hour == 8 and morning.day == 23
    assert quiet_until(datetime(2026, 11, 22, 2, 0, tzinfo=UTC), quiet) is None  # 10:00


class SmallBatches(Channel):
    """The real channel with a small batch size, so one push takes many batches."""

    def __init__(self, inner: Channel, size: int) -> None:
        self.kind = inner.kind  # type: ignore[misc]
        self.provider = inner.provider  # type: ignore[misc]
        self.receipts = inner.receipts  # type: ignore[misc]
        self.limits = dataclasses.replace(inner.limits, batch_size=size)  # type: ignore[misc]
        self._inner = inner
        self.calls = 0

    async def send(self, messages: Sequence[Message]) -> list[Outcome]:
        self.calls += 1
        return await self._inner.send(messages)

    async def lookup(self, messages: Sequence[Message]) -> list[Outcome | None]:
        return await self._inner.lookup(messages)


async def test_batches_in_flight_on_postgres_send_each_message_once(
    production_settings: Settings,
) -> None:
    """Two workers, each with three batches in flight: every message goes out once."""
    settings = production_settings.model_copy(update={"redis_url": None})  # in-process jobs
    town, tokens = await start(settings, residents=300)
    async with open_resources(settings) as r:
        bind_local(r)
        item_id = await _planned_but_unsent(Service(r, town, tokens))
        push_id = (await deliveries(r, item_id))[0].push_id
        many = r.settings.dispatch.model_copy(update={"batches_in_flight": 3})
        small = {k: SmallBatches(c, 7) for k, c in r.channels.items()}
        workers = [
            replace(r.dispatcher(), worker=name, channels=small, settings=many)
            for name in ("w1", "w2")
        ]
        tallies = await asyncio.gather(
            *(dispatch(w, push_id, kind) for w in workers for kind in ChannelKind)
        )
        rows = await deliveries(r, item_id)
        counts = await inbox_counts(r)
    sent = [d for d in rows if d.status == DeliveryStatus.DELIVERED]
    assert sum(c.calls for c in small.values()) > 2 * 3  # more batches than in flight
    assert sum(t.sent for t in tallies) == len(sent) == sum(counts.values()) > 200
    assert max(counts.values()) == 1
