"""End to end in embedded mode: review → match → plan → dispatch → sandbox inbox."""

from __future__ import annotations

from sqlalchemy import select

from pusher.demo.expected import expected_for, region_code
from pusher.demo.items import SAMPLES
from pusher.models import DeliveryStatus, Item, ItemMatch, Urgency
from pusher.runtime.queue import LocalQueue
from tests.spine.conftest import Service
from tests.spine.flow import deliveries, inbox_counts, publish


async def _run(service: Service) -> None:
    assert isinstance(service.resources.queue, LocalQueue)
    await service.resources.queue.join()
    assert service.resources.queue.failures == []


async def test_item_reaches_exactly_its_audience_once(service: Service) -> None:
    # expected from how the town was built (tags, subscriptions), not from the pipeline
    r = service.resources
    sample = SAMPLES[0]  # 高龄津贴: residents tagged 老年人 and subscribers of 养老服务
    item_id = await publish(
        r, region_code=region_code(service.town, sample), title=sample.title, body=sample.body
    )
    await _run(service)
    rows = await deliveries(r, item_id)
    async with r.db() as session:
        item = await session.get_one(Item, item_id)
        expected = set((await expected_for(session, service.town, sample)).residents)
        matched = list(await session.scalars(select(ItemMatch).where(ItemMatch.item_id == item_id)))
    assert item.status == "pushed"
    assert expected, "the demo town has elderly residents"
    assert {d.resident_id for d in rows if d.resident_id} == expected
    assert any(reason["kind"] == "rule" for m in matched for reason in m.reasons)
    sent = [d for d in rows if d.status == DeliveryStatus.DELIVERED]
    unreachable = [d for d in rows if d.status == DeliveryStatus.UNREACHABLE]
    assert len(sent) + len(unreachable) == len(rows)
    counts = await inbox_counts(r)
    assert all(counts[str(d.id)] == 1 for d in sent)
    assert all(counts[str(d.id)] == 0 for d in unreachable)


async def test_urgent_warning_reaches_everyone_and_every_group_chat(service: Service) -> None:
    r = service.resources
    item_id = await publish(
        r,
        region_code=service.town.town_code,
        title="暴雨红色预警",
        urgency=Urgency.URGENT,
        body="预计未来3小时我镇将出现100毫米以上降水，请立即转移。",
    )
    await _run(service)
    rows = await deliveries(r, item_id)
    residents = {d.resident_id for d in rows if d.resident_id}
    chats = [d for d in rows if d.group_chat_id]
    assert len(residents) == service.town.residents
    assert len(chats) == len(service.town.village_codes)
    assert all(d.status == DeliveryStatus.DELIVERED for d in chats)


async def test_village_notice_stays_in_its_village(service: Service) -> None:
    r = service.resources
    village = service.town.village_codes[0]
    item_id = await publish(
        r, region_code=village, title="东山村停水通知", body="因管网改造，12月5日停水一天。"
    )
    await _run(service)
    rows = await deliveries(r, item_id)
    assert rows
    async with r.db() as session:
        from pusher.models import Region

        paths: dict[int, str] = {
            i: p for i, p in await session.execute(select(Region.id, Region.path))
        }
    assert all(f"/{village}/" in paths[d.region_id] for d in rows if d.region_id)


async def test_processing_an_item_twice_plans_and_sends_nothing_twice(service: Service) -> None:
    r = service.resources
    item_id = await publish(
        r,
        region_code=service.town.village_codes[1],
        title="西河村通知",
        body="村民大会于周五召开。",
    )
    await _run(service)
    first = await deliveries(r, item_id)
    for n in range(2):
        await r.queue.enqueue("process_item", item_id, job_id=f"again:{n}")
    await _run(service)
    again = await deliveries(r, item_id)
    assert [d.id for d in again] == [d.id for d in first]
    counts = await inbox_counts(r)
    assert max(counts.values()) == 1
