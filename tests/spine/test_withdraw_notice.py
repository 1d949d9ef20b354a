"""The optional withdrawal notice (issue 23): a short 【撤回】 message to exactly those who
received the item, by the channel and address each received it on, once each."""

from __future__ import annotations

from sqlalchemy import func, select, update

from pusher.db import transaction
from pusher.models import Delivery, DeliveryStatus, Item, Push, Resident, Review
from pusher.runtime.queue import LocalQueue
from tests.spine.conftest import Service
from tests.spine.flow import deliveries, inbox_counts
from tests.spine.test_lifecycle_push import _audience, _notice_ids, _post, _pushed

RECEIVED = (DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.CONFIRMED)


async def test_notice_goes_once_to_exactly_the_receivers_by_their_channels(
    service: Service,
) -> None:
    r = service.resources
    assert isinstance(r.queue, LocalQueue)
    item_id = await _pushed(r, service.town.village_codes[0])
    first = await deliveries(r, item_id)
    missed, moved = first[0], next(d for d in first[1:] if d.resident_id and d.channel == "wechat")
    async with transaction(r.db) as session:  # one never received it; one moved to SMS since
        await session.execute(
            update(Delivery).where(Delivery.id == missed.id).values(status="failed")
        )
        await session.execute(
            update(Resident).where(Resident.id == moved.resident_id).values(wechat_opt_out=True)
        )
    expected = _audience([d for d in first if d.id != missed.id and d.status in RECEIVED])
    assert expected and len(expected) < len(first)
    path = f"/api/v1/items/{item_id}/withdraw"
    status, body = await _post(r, path, "leader", {"reason": "日期有误", "notify": True})
    assert status == 200 and body["notice_item_id"]
    await r.queue.join()
    notice_id = body["notice_item_id"]
    sent = await deliveries(r, notice_id)
    assert _audience(sent) == expected and all(d.status in RECEIVED for d in sent)
    inbox = await inbox_counts(r)
    assert all(inbox[str(d.id)] == 1 for d in sent)  # each got one message
    async with r.db() as session:
        push = await session.scalar(select(Push).where(Push.item_id == notice_id))
        register = await session.scalar(select(Review).where(Review.item_id == notice_id))
    assert push is not None
    assert push.texts["wecom"]["text"].count("【撤回】") >= 1 and "更正" not in str(push.texts)
    assert "撤回" in push.texts["sms"]["text"] and "日期有误" in push.texts["sms"]["text"]
    assert register is not None and register.reviewer == "leader"  # in the review register
    resident = next(d.resident_id for d in sent if d.resident_id)
    assert notice_id not in await _notice_ids(r, resident)  # never in residents' lists
    await r.queue.enqueue("process_item", notice_id, job_id="process:again")  # a retried job
    await r.queue.join()
    assert len(await deliveries(r, notice_id)) == len(sent)
    again, _ = await _post(r, path, "leader", {"reason": "再撤一次", "notify": True})
    assert again == 409


async def test_withdrawal_without_notify_sends_nothing(service: Service) -> None:
    r = service.resources
    item_id = await _pushed(r, service.town.village_codes[0])
    path = f"/api/v1/items/{item_id}/withdraw"
    status, body = await _post(r, path, "leader", {"reason": "日期有误"})
    assert status == 200 and body["notice_item_id"] is None
    async with r.db() as session:
        assert await session.scalar(select(func.count()).select_from(Item)) == 1
    bad, _ = await _post(r, path, "leader", {"reason": "x", "notify": "maybe"})
    assert bad == 422
