"""Retention (old rows purged) and erasure (a resident's personal data removed on request)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from pusher.errors import NotFound
from pusher.models import (
    AuditLog,
    Delivery,
    DeliveryStatus,
    Item,
    Push,
    Resident,
    ResidentTag,
    SandboxMessage,
    Subscription,
    Urgency,
)
from pusher.pipeline.lifecycle import FORGOTTEN_NAME, forget_resident, purge
from pusher.runtime.context import Resources
from pusher.runtime.queue import LocalQueue
from pusher.runtime.resources import bind_local, open_resources
from pusher.settings import QuietHours, Settings
from tests.ops.conftest import migrated
from tests.spine.flow import publish

NOW = datetime.now(UTC)
#: the audit rows these tests are about (building the demo town audits its roster import too)
FORGET = AuditLog.action == "resident.forget"


async def _two_pushes(settings: Settings) -> Settings:
    settings = settings.model_copy(update={"quiet_hours": QuietHours(start=0, end=0)})
    town = await migrated(settings, residents=80)
    assert town is not None
    async with open_resources(settings) as r:
        bind_local(r)
        for title in ("暴雨红色预警", "山洪橙色预警"):
            await publish(
                r,
                region_code=town.town_code,
                title=title,
                urgency=Urgency.URGENT,
                body="请沿河群众立即转移到安全地带。",
            )
        assert isinstance(r.queue, LocalQueue)
        await r.queue.join()
    return settings


async def _count(r: Resources, model: type[object], *where: object) -> int:
    async with r.db() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_purge_removes_old_deliveries_of_finished_pushes_and_old_sandbox_messages(
    sqlite_settings: Settings,
) -> None:
    settings = await _two_pushes(sqlite_settings)
    async with open_resources(settings) as r:
        async with r.db() as session, session.begin():
            old = NOW - timedelta(days=100)
            await session.execute(update(Delivery).values(created_at=old))
            await session.execute(update(SandboxMessage).values(at=old))
            # the second push is still going out: its rows stay, however old
            await session.execute(update(Push).where(Push.id == 2).values(status="dispatching"))
        kept_rows = await _count(r, Delivery, Delivery.push_id == 2)
        first_rows = await _count(r, Delivery, Delivery.push_id == 1)
        messages = await _count(r, SandboxMessage)

        young = await purge(r.db, now=NOW, delivery_days=200, sandbox_days=200, chunk=7)
        forever = await purge(r.db, now=NOW, delivery_days=0, sandbox_days=0, chunk=7)
        report = await purge(r.db, now=NOW, delivery_days=90, sandbox_days=30, chunk=7)

        assert (young.deliveries, young.sandbox_messages) == (0, 0)
        assert (forever.deliveries, forever.sandbox_messages) == (0, 0)
        assert report.deliveries == first_rows > 7  # more than one chunk
        assert report.sandbox_messages == messages
        assert await _count(r, Delivery, Delivery.push_id == 1) == 0
        assert await _count(r, Delivery, Delivery.push_id == 2) == kept_rows
        assert await _count(r, Push) == 2 and await _count(r, Item) == 2  # the record stays


async def _a_reached_resident(r: Resources) -> Resident:
    async with r.db() as session:
        resident = await session.scalar(
            select(Resident)
            .join(ResidentTag, ResidentTag.resident_id == Resident.id)
            .join(Subscription, Subscription.resident_id == Resident.id)
            .where(Resident.phone.is_not(None), Resident.openid.is_not(None))
            .limit(1)
        )
    assert resident is not None
    return resident


async def test_forget_resident_erases_personal_data_and_keeps_an_audit_row(
    sqlite_settings: Settings,
) -> None:
    settings = await _two_pushes(sqlite_settings)
    async with open_resources(settings) as r:
        person = await _a_reached_resident(r)
        assert person.id is not None and person.phone and person.openid
        async with r.db() as session, session.begin():
            first = await session.scalar(
                select(Delivery.id).where(Delivery.resident_id == person.id).limit(1)
            )
            await session.execute(
                update(Delivery).where(Delivery.id == first).values(status="queued")
            )
        others = await _count(r, Resident, Resident.name == FORGOTTEN_NAME)
        assert await _count(r, SandboxMessage, SandboxMessage.recipient == person.openid) > 0

        await forget_resident(r.db, person.id, actor="admin")

        async with r.db() as session:
            after = await session.get_one(Resident, person.id)
            rows = (
                await session.scalars(select(Delivery).where(Delivery.resident_id == person.id))
            ).all()
            audit = (await session.scalars(select(AuditLog).where(FORGET))).all()
            cancelled = await session.get_one(Delivery, first)
        assert (after.name, after.phone, after.openid) == (FORGOTTEN_NAME, None, None)
        assert await _count(r, ResidentTag, ResidentTag.resident_id == person.id) == 0
        assert await _count(r, Subscription, Subscription.resident_id == person.id) == 0
        assert await _count(r, SandboxMessage, SandboxMessage.recipient == person.phone) == 0
        assert await _count(r, SandboxMessage, SandboxMessage.recipient == person.openid) == 0
        assert all(d.recipient is None for d in rows)
        assert (
            cancelled.status == DeliveryStatus.FAILED
            and cancelled.error_code == "resident_forgotten"
        )
        assert others == 0 and await _count(r, Resident, Resident.name == FORGOTTEN_NAME) == 1
        await purge(r.db, now=NOW + timedelta(days=9999), delivery_days=1, sandbox_days=1)
        async with r.db() as session:
            [entry] = (await session.scalars(select(AuditLog).where(FORGET))).all()  # kept
        assert len(audit) == 1
        assert (entry.actor, entry.action, entry.target) == (
            "admin",
            "resident.forget",
            f"resident:{person.id}",
        )
        assert person.phone not in str(entry.detail) and person.openid not in str(entry.detail)


async def test_forgetting_an_unknown_resident_fails_and_writes_nothing(
    sqlite_settings: Settings,
) -> None:
    await migrated(sqlite_settings)
    async with open_resources(sqlite_settings) as r:
        with pytest.raises(NotFound):
            await forget_resident(r.db, 999, actor="admin")
        assert await _count(r, AuditLog) == 0


@pytest.mark.production
async def test_purge_and_forget_on_postgresql(production_settings: Settings) -> None:
    town = await migrated(production_settings, residents=40)
    assert town is not None
    async with open_resources(production_settings) as r:
        async with r.db() as session, session.begin():
            resident = await session.scalar(select(Resident).where(Resident.phone.is_not(None)))
            assert resident is not None and resident.id is not None
            session.add(
                SandboxMessage(
                    kind="sms",
                    recipient=resident.phone,
                    key="1",
                    text="旧消息",
                    provider_id="sbx-1",
                    at=NOW - timedelta(days=40),
                )
            )
        report = await purge(r.db, now=NOW, delivery_days=90, sandbox_days=30, chunk=2)
        await forget_resident(r.db, resident.id, actor="grid_worker")
        async with r.db() as session:
            after = await session.get_one(Resident, resident.id)
        assert report.sandbox_messages == 1
        assert after.phone is None and await _count(r, AuditLog, FORGET) == 1
