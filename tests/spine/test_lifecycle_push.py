"""After a push: stop (held or mid-dispatch), withdraw, expire, and refusals (issue 23)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select, update

from pusher.db import transaction
from pusher.models import (
    AuditLog,
    Delivery,
    DeliveryStatus,
    Item,
    Push,
    Region,
    Resident,
    Urgency,
)
from pusher.pipeline.claims import claim
from pusher.pipeline.correct import review_diff
from pusher.pipeline.sweep import due_work
from pusher.pipeline.texts import short_code
from pusher.residents.choices import Mine, notices
from pusher.runtime.context import Resources
from pusher.runtime.queue import LocalQueue
from pusher.runtime.resources import bind_local, open_resources
from pusher.settings import QuietHours, Settings
from pusher.web.app import create_app
from tests.spine.conftest import Service, start
from tests.spine.flow import deliveries, publish

BODY = "因管网改造，12月5日停水一天。"


async def _pushed(r: Resources, region_code: str, *, urgent: bool = True) -> int:
    urgency = Urgency.URGENT if urgent else Urgency.NORMAL
    item_id = await publish(
        r, region_code=region_code, title="东山村停水通知", body=BODY, urgency=urgency
    )
    assert isinstance(r.queue, LocalQueue)
    await r.queue.join()
    return item_id


async def _post(
    r: Resources, path: str, role: str, body: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    client = TestClient(TestServer(create_app(r.settings, resources=r)))
    await client.start_server()
    try:
        answer = await client.post(path, json=body, headers={"Authorization": f"Bearer {role}"})
        return answer.status, await answer.json()
    finally:
        await client.close()


async def test_stop_during_quiet_hours_cancels_held_rows(sqlite_settings: Settings) -> None:
    hour = datetime.now(ZoneInfo("Asia/Shanghai")).hour
    quiet = QuietHours(start=hour, end=(hour + 2) % 24)  # now is inside, whatever the hour
    settings = sqlite_settings.model_copy(update={"quiet_hours": quiet})
    town, _ = await start(settings)
    async with open_resources(settings) as r:
        bind_local(r)
        item_id = await _pushed(r, town.village_codes[0], urgent=False)
        planned = await deliveries(r, item_id)
        held = [d for d in planned if d.status == DeliveryStatus.QUEUED]
        assert held and {d.status for d in planned} <= {"queued", "unreachable"}
        stop = f"/api/v1/items/{item_id}/stop"
        status, answer = await _post(r, stop, "leader", {"reason": "有误"})
        assert status == 200 and answer["cancelled"] == len(held)
        rows = [d for d in await deliveries(r, item_id) if d.id in {h.id for h in held}]
        assert {(d.status, d.error_code) for d in rows} == {("cancelled", "stopped")}
        morning = datetime.now(UTC) + timedelta(hours=3)  # after the quiet hours end
        assert await due_work(r.db, morning) == []
        # a row planned after the stop (a chunk still being written) is not sent either
        async with transaction(r.db) as session:
            await session.execute(
                update(Delivery)
                .where(Delivery.id == rows[0].id)
                .values(status=DeliveryStatus.QUEUED, next_attempt_at=datetime.now(UTC))
            )
        async with transaction(r.db) as session:
            got = await claim(
                session,
                push_id=rows[0].push_id,
                channel=rows[0].channel,
                worker="w",
                limit=100,
                lease=timedelta(seconds=60),
                now=morning,
            )
        assert got == []
        again = [d for d in await deliveries(r, item_id) if d.id == rows[0].id]
        assert again[0].status == DeliveryStatus.CANCELLED


async def test_stop_mid_dispatch_keeps_sent_rows(service: Service) -> None:
    r = service.resources
    item_id = await _pushed(r, service.town.village_codes[0])
    rows = await deliveries(r, item_id)
    waiting = {d.id for d in rows[::2]}  # as if half were still to go out
    sending = rows[1].id
    async with transaction(r.db) as session:
        await session.execute(
            update(Delivery).where(Delivery.id.in_(waiting)).values(status=DeliveryStatus.QUEUED)
        )
        await session.execute(
            update(Delivery).where(Delivery.id == sending).values(status=DeliveryStatus.SENDING)
        )
        await session.execute(
            update(Push).where(Push.id == rows[0].push_id).values(status="dispatching")
        )
    status, answer = await _post(r, f"/api/v1/items/{item_id}/stop", "leader", {"reason": "暂停"})
    assert status == 200 and answer["cancelled"] == len(waiting)
    after = {d.id: d for d in await deliveries(r, item_id)}
    before = {d.id: d for d in rows}
    for row_id, row in after.items():
        if row_id in waiting:
            assert row.status == DeliveryStatus.CANCELLED
        elif row_id == sending:
            assert row.status == DeliveryStatus.SENDING
        else:
            assert row.status == before[row_id].status != DeliveryStatus.CANCELLED


async def _notice_ids(r: Resources, resident_id: int) -> list[int]:
    async with r.db() as session:
        resident = await session.get_one(Resident, resident_id)
        region = await session.get_one(Region, resident.region_id)
        return [n.item_id for n in await notices(session, [Mine(resident, region, False)])]


async def test_withdraw_after_delivery_takes_the_page_and_notice_down(service: Service) -> None:
    r = service.resources
    item_id = await _pushed(r, service.town.village_codes[0])
    resident_id = next(d.resident_id for d in await deliveries(r, item_id) if d.resident_id)
    assert item_id in await _notice_ids(r, resident_id)
    withdraw = f"/api/v1/items/{item_id}/withdraw"
    status, _ = await _post(r, withdraw, "leader", {"reason": "日期有误"})
    assert status == 200
    client = TestClient(TestServer(create_app(r.settings, resources=r)))
    await client.start_server()
    try:
        page = await client.get(f"/s/{short_code(item_id)}")  # follows to /p/<id>
        text = await page.text()
        assert page.status == 200 and "已" in text and "撤回" in text and "日期有误" in text
        assert BODY not in text
    finally:
        await client.close()
    assert item_id not in await _notice_ids(r, resident_id)
    async with r.db() as session:
        audited = await session.scalar(select(AuditLog).where(AuditLog.action == "item.withdraw"))
    assert audited is not None and audited.actor == "leader"


async def test_expire_leaves_the_notice_list_and_page_says_so(service: Service) -> None:
    r = service.resources
    item_id = await _pushed(r, service.town.village_codes[0])
    resident_id = next(d.resident_id for d in await deliveries(r, item_id) if d.resident_id)
    status, _ = await _post(r, f"/api/v1/items/{item_id}/expire", "leader", {"reason": "活动结束"})
    assert status == 200
    assert item_id not in await _notice_ids(r, resident_id)
    client = TestClient(TestServer(create_app(r.settings, resources=r)))
    await client.start_server()
    try:
        assert "失效" in await (await client.get(f"/p/{item_id}")).text()
    finally:
        await client.close()


async def test_refused_roles_get_403_and_an_audit_row(service: Service) -> None:
    r = service.resources
    item_id = await _pushed(r, service.town.village_codes[0], urgent=False)
    for action in ("stop", "withdraw", "expire"):
        status, answer = await _post(
            r, f"/api/v1/items/{item_id}/{action}", "publisher", {"reason": "试试"}
        )
        assert status == 403 and "领导" in answer["error"]
    async with r.db() as session:
        denied = list(
            await session.scalars(select(AuditLog).where(AuditLog.action == "access.denied"))
        )
        rows = await deliveries(r, item_id)
    assert [a.target for a in denied] == [f"item:{item_id}"] * 3
    assert all(d.status != DeliveryStatus.CANCELLED for d in rows)


RECEIVED = ("sent", "delivered", "confirmed")


def _audience(rows: list[Delivery]) -> list[tuple[object, ...]]:
    return sorted(
        (d.resident_id or 0, d.group_chat_id or 0, d.channel, d.recipient or "") for d in rows
    )


async def test_correction_goes_to_exactly_the_first_audience_by_their_channels(
    service: Service,
) -> None:
    r = service.resources
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
    status, draft = await _post(r, f"/api/v1/items/{item_id}/correct", "publisher",
                                {"body": BODY.replace("12月5日", "12月6日")})  # fmt: skip
    assert status == 201 and draft["status"] == "submitted"
    async with r.db() as session:  # what the reviewers see
        diff = await review_diff(session, await session.get_one(Item, draft["id"]))
    new_body = BODY.replace("12月5日", "12月6日")
    assert diff is not None and f"-{BODY}" in diff and f"+{new_body}" in diff
    for role, step in (("reviewer", "staff"), ("leader", "leader")):
        path = f"/api/v1/items/{draft['id']}/review"
        status, _ = await _post(r, path, role, {"step": step, "decision": "approve"})
        assert status == 200
    assert isinstance(r.queue, LocalQueue)
    await r.queue.join()
    second = await deliveries(r, draft["id"])
    assert _audience(second) == expected  # the same people and chats, same channel, once
    assert all(d.status in RECEIVED for d in second)
    async with r.db() as session:
        push = await session.scalar(select(Push).where(Push.item_id == draft["id"]))
    assert push is not None and "更正" in push.texts["wecom"]["text"]
