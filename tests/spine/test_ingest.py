"""Ingest: urgency from the title when a feed or API client does not give one."""

from __future__ import annotations

from pusher.db import transaction
from pusher.models import Urgency
from pusher.pipeline import ingest
from tests.spine.conftest import Service


async def test_urgency_is_read_from_the_title_only_when_not_given(service: Service) -> None:
    def data(title: str, urgency: Urgency | None = None) -> ingest.ItemIn:
        return ingest.ItemIn(
            title=title,
            body="请注意。",
            publisher="青山镇气象站",
            region_code=service.town.town_code,
            urgency=urgency,
        )

    async with transaction(service.resources.db) as session:
        warning, _ = await ingest.create_item(
            session, data("青山镇气象台发布暴雨红色预警信号"), max_body_chars=1000
        )
        lifted, _ = await ingest.create_item(
            session, data("青山镇解除暴雨红色预警信号"), max_body_chars=1000
        )
        stated, _ = await ingest.create_item(
            session, data("青山镇气象台发布暴雨红色预警信号", Urgency.NORMAL), max_body_chars=1000
        )
    assert warning.urgency == Urgency.URGENT
    assert lifted.urgency == Urgency.NORMAL
    assert stated.urgency == Urgency.NORMAL
