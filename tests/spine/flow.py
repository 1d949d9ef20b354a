"""Steps the spine tests share: publish an item through review, read back deliveries."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from sqlalchemy import select

from pusher.db import transaction
from pusher.models import Delivery, Push, Role, SandboxMessage, Urgency
from pusher.pipeline import ingest, review
from pusher.runtime.context import Resources

if TYPE_CHECKING:
    from tests.spine.conftest import Service

REVIEWER = review.Actor("reviewer", Role.REVIEWER)
LEADER = review.Actor("leader", Role.LEADER)


async def publish(
    r: Resources,
    *,
    region_code: str,
    title: str,
    body: str,
    urgency: Urgency = Urgency.NORMAL,
    domain: str | None = None,
) -> int:
    """Create, submit and approve an item in two steps (one if urgent); enqueue its push."""
    data = ingest.ItemIn(
        title=title,
        body=body,
        publisher="青山镇人民政府",
        region_code=region_code,
        urgency=urgency,
        domain=domain,
    )
    async with transaction(r.db) as session:
        item, _ = await ingest.create_item(session, data, max_body_chars=50_000)
        await review.submit(session, item, actor="publisher")
        if urgency is Urgency.URGENT:
            steps = [(review.Step.URGENT, LEADER)]
        else:
            steps = [(review.Step.STAFF, REVIEWER), (review.Step.LEADER, LEADER)]
        for step, actor in steps:
            approved = await review.decide(
                session, item, step=step, decision=review.Decision.APPROVE, actor=actor
            )
    assert approved and item.id is not None
    await r.queue.enqueue("process_item", item.id, job_id=f"process:{item.id}")
    return item.id


async def deliveries(r: Resources, item_id: int) -> list[Delivery]:
    async with r.db() as session:
        return list(
            await session.scalars(
                select(Delivery)
                .join(Push, Push.id == Delivery.push_id)
                .where(Push.item_id == item_id)
                .order_by(Delivery.id)
            )
        )


async def inbox_counts(r: Resources) -> Counter[str]:
    """How many messages the sandbox kept per delivery key."""
    async with r.db() as session:
        keys = await session.scalars(select(SandboxMessage.key))
        return Counter(keys)


def auth(role: str = "publisher") -> dict[str, str]:
    """Bearer header of a test town user (its token is its name)."""
    return {"Authorization": f"Bearer {role}"}


def item(service: Service, **changes: object) -> dict[str, object]:
    """A valid item for the API, with ``changes``."""
    data: dict[str, object] = {
        "title": "关于调整农村低保标准的通知",
        "body": "农村低保标准提高到每人每月620元。",
        "publisher": "青山镇人民政府",
        "region_code": service.town.town_code,
    }
    return data | changes
