"""Preview before approval: exact texts, audience per channel, SMS cost; nothing written."""

from __future__ import annotations

from sqlalchemy import func, select

from pusher.db import transaction
from pusher.models import Item, ItemMatch, Push, Role
from pusher.pipeline import ingest, review
from pusher.pipeline.preview import preview
from pusher.runtime.queue import LocalQueue
from pusher.summary import sms_segments
from tests.spine.conftest import Service


async def test_preview_matches_what_the_push_then_does(service: Service) -> None:
    r = service.resources
    data = ingest.ItemIn(
        title="关于发放2024年高龄津贴的通知",
        publisher="青山镇人民政府",
        body="年满80周岁的老年人每人每月100元，请于12月10日前到村委会核对。咨询电话：0791-83451234。",
        region_code=service.town.town_code,
    )
    async with transaction(r.db) as session:
        item, _ = await ingest.create_item(session, data, max_body_chars=50_000)
    async with r.db() as session:
        draft = await session.get_one(Item, item.id)
        shown = await preview(session, draft, resources=r)
        await session.rollback()
    sms = shown["texts"]["sms"]
    assert sms["text"].startswith("【") and sms["chars"] == len(sms["text"])
    assert sms["segments"] == sms_segments(sms["text"]) == 1
    assert len(shown["texts"]["wecom"]["markdown"].encode()) <= 4096
    audience = shown["audience"]
    assert audience["residents"] == audience["wechat"] + audience["sms"] + audience["unreachable"]
    assert shown["sms_segments_total"] == audience["sms"] * sms["segments"]
    async with r.db() as session:
        assert await session.scalar(select(func.count()).select_from(ItemMatch)) == 0
        assert (await session.get_one(Item, item.id)).status == "draft"

    async with transaction(r.db) as session:
        stored = await session.get_one(Item, item.id)
        await review.submit(session, stored, actor="publisher")
        for step, actor in (
            (review.Step.STAFF, review.Actor("reviewer", Role.REVIEWER)),
            (review.Step.LEADER, review.Actor("leader", Role.LEADER)),
        ):
            await review.decide(
                session, stored, step=step, decision=review.Decision.APPROVE, actor=actor
            )
    await r.queue.enqueue("process_item", item.id, job_id=f"process:{item.id}")
    assert isinstance(r.queue, LocalQueue)
    await r.queue.join()
    async with r.db() as session:
        push = await session.scalar(select(Push).where(Push.item_id == item.id))
    assert push is not None
    assert push.texts["sms"]["text"] == sms["text"]
    assert push.planned == audience["residents"] + audience["group_chats"]
