"""``/metrics``: what the pipeline counted, and the database's truth read at scrape time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import func, select, update

from pusher.models import Delivery, DeliveryStatus, Urgency
from pusher.ops.metrics import Metrics, start_metrics_server
from pusher.runtime.context import Resources
from pusher.runtime.queue import LocalQueue
from pusher.runtime.resources import bind_local, open_resources
from pusher.settings import QuietHours, Settings
from tests.ops.conftest import client_for, migrated
from tests.spine.flow import publish

ACCEPTED = (DeliveryStatus.SENT.value, DeliveryStatus.DELIVERED.value)
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def _pushed(settings: Settings) -> tuple[Settings, int]:
    settings = settings.model_copy(update={"quiet_hours": QuietHours(start=0, end=0)})
    town = await migrated(settings, residents=120)
    assert town is not None
    async with open_resources(settings) as r:
        bind_local(r)
        await publish(
            r,
            region_code=town.town_code,
            title="暴雨红色预警",
            urgency=Urgency.URGENT,
            body="预计未来3小时我镇将出现强降水，请沿河群众立即转移。",
        )
        assert isinstance(r.queue, LocalQueue)
        await r.queue.join()
        async with r.db() as session:
            total = await session.scalar(select(func.count()).select_from(Delivery))
    assert total
    return settings, int(total)


async def _scrape(r: Resources) -> tuple[int, Samples]:
    async with client_for(r) as client:
        response = await client.get("/metrics")
        assert response.headers["Content-Type"].startswith("text/plain")
        return response.status, samples(await response.text())


async def test_scrape_reports_items_pushes_and_deliveries_from_the_database(
    sqlite_settings: Settings,
) -> None:
    settings, total = await _pushed(sqlite_settings)
    async with open_resources(settings) as r:
        status, got = await _scrape(r)
        async with r.db() as session:
            sent = await session.scalar(select(func.count()).where(Delivery.status.in_(ACCEPTED)))
    assert status == 200
    assert got[("pusher_database_up", ())] == 1
    assert got[("pusher_items", (("status", "pushed"),))] == 1
    assert got[("pusher_pushes", (("status", "done"),))] == 1
    deliveries = {k[1]: v for k, v in got.items() if k[0] == "pusher_deliveries"}
    assert sum(deliveries.values()) == total
    assert sum(v for labels, v in deliveries.items() if dict(labels)["status"] in ACCEPTED) == sent
    assert {dict(labels)["channel"] for labels in deliveries} >= {"wechat", "sms"}
    assert got[("pusher_queue_depth", ())] == 0
    assert got[("pusher_queue_oldest_seconds", ())] == 0


async def test_a_stuck_queue_shows_its_depth_and_age(sqlite_settings: Settings) -> None:
    settings, _ = await _pushed(sqlite_settings)
    async with open_resources(settings) as r:
        async with r.db() as session, session.begin():
            ids = (await session.scalars(select(Delivery.id).limit(7))).all()
            await session.execute(
                update(Delivery)
                .where(Delivery.id.in_(ids))
                .values(status="queued", next_attempt_at=datetime.now(UTC) - timedelta(seconds=90))
            )
        _, got = await _scrape(r)
    assert got[("pusher_queue_depth", ())] == 7
    assert 90 <= got[("pusher_queue_oldest_seconds", ())] < 120


async def test_events_the_pipeline_records_are_exposed(sqlite_settings: Settings) -> None:
    await migrated(sqlite_settings)
    metrics = Metrics()
    metrics.observe_call("wechat", 0.2)
    metrics.observe_call("wechat", 0.4)
    metrics.count_error("aliyun_sms", "isv.BUSINESS_LIMIT_CONTROL")
    metrics.count_error("wechat", 45009)
    metrics.count_receipts("tencent_sms", 3)
    metrics.count_receipts("tencent_sms", 0)
    metrics.observe_rate_wait("wecom", 2.0)
    metrics.count_token_refresh("wechat")
    async with open_resources(sqlite_settings) as r:
        got = samples((await metrics.render(r.db)).decode())
    assert got[("pusher_provider_call_seconds_count", (("provider", "wechat"),))] == 2
    assert got[("pusher_provider_call_seconds_sum", (("provider", "wechat"),))] == pytest.approx(
        0.6
    )
    assert got[("pusher_provider_errors_total", (("code", "45009"), ("provider", "wechat")))] == 1
    assert (
        got[
            (
                "pusher_provider_errors_total",
                (("code", "isv.BUSINESS_LIMIT_CONTROL"), ("provider", "aliyun_sms")),
            )
        ]
        == 1
    )
    assert got[("pusher_receipts_total", (("provider", "tencent_sms"),))] == 3
    assert got[("pusher_rate_limit_wait_seconds_count", (("bucket", "wecom"),))] == 1
    assert got[("pusher_token_refreshes_total", (("provider", "wechat"),))] == 1


def test_each_metrics_object_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.count_token_refresh("wechat")
    assert second.token_refreshes.labels(provider="wechat")._value.get() == 0
    names = {m.name for m in prometheus_client.REGISTRY.collect()}
    assert not any(name.startswith("pusher_") for name in names)


async def test_an_unreadable_database_still_answers_the_scrape(sqlite_settings: Settings) -> None:
    url = "postgresql+asyncpg://pusher:hunter2@127.0.0.1:1/pusher"
    settings = sqlite_settings.model_copy(update={"database_url": SecretStr(url)})
    async with open_resources(settings) as r:
        status, got = await _scrape(r)
    assert status == 200
    assert got[("pusher_database_up", ())] == 0
    assert not any(name == "pusher_deliveries" for name, _ in got)


async def test_worker_metrics_server_serves_and_stops(sqlite_settings: Settings) -> None:
    await migrated(sqlite_settings)
    metrics = Metrics()
    metrics.count_receipts("wechat", 2)
    async with open_resources(sqlite_settings) as r:
        server = await start_metrics_server(metrics, r.db, host="127.0.0.1", port=0)
        url = f"http://127.0.0.1:{server.port}/metrics"
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as response:
                got = samples(await response.text())
            await server()
            try:
                async with http.get(url) as response:
                    still = response.status
            except aiohttp.ClientConnectionError:
                still = None
    assert got[("pusher_receipts_total", (("provider", "wechat"),))] == 2
    assert got[("pusher_database_up", ())] == 1
    assert still is None
