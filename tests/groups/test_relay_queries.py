"""A staff-notice run reads the waiting relays once, and the village keepers once: its
query count does not grow with the number of escalated relays still waiting (the
notices were sent by an earlier run, so each is dropped as already told)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event, select

from pusher.console.accounts import set_user
from pusher.db import SessionFactory, transaction
from pusher.models import (
    RELAY_CHANNEL,
    Delivery,
    DeliveryStatus,
    GroupChat,
    Push,
    Region,
    Role,
    StaffNotice,
    User,
    utcnow,
)
from pusher.runtime.context import Resources
from pusher.runtime.jobs import notify_staff
from pusher.town.chats import ChatIn, create_chat
from pusher.web.keys import RESOURCES
from tests.console.test_console import PASSWORD, Console, console, db_of
from tests.groups.relay_town import relay_town

__all__ = ["console"]


async def _escalated_relays(console: Console, push_id: int, village: str, count: int) -> None:
    """``count`` more relay groups in ``village`` kept by gw3, each with an escalated
    relay of the push still waiting."""
    async with transaction(db_of(console)) as session:
        start = await session.scalar(select(GroupChat.id).order_by(GroupChat.id.desc()).limit(1))
        for n in range(count):
            chat = await create_chat(
                session, ChatIn(f"东山村{start}-{n}群", village, kind="relay", keeper="gw3")
            )
            session.add(
                Delivery(
                    push_id=push_id,
                    group_chat_id=chat.id,
                    channel=RELAY_CHANNEL,
                    status=DeliveryStatus.WAITING,
                    attempts=1,
                    next_attempt_at=None,
                    created_at=utcnow(),
                )
            )


async def _queries(resources: Resources) -> list[str]:
    """The statements one notice run (the job, as a sweep enqueues it) executes."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(resources.engine.sync_engine, "before_cursor_execute", count)
    try:
        await notify_staff({"resources": resources})
    finally:
        event.remove(resources.engine.sync_engine, "before_cursor_execute", count)
    return seen


async def _first_village_with_gw3(db: SessionFactory) -> str:
    """The first village's code, with a second grid worker (gw3) notified there."""
    async with transaction(db) as session:
        village = await session.scalar(
            select(Region.code).where(Region.kind == "village").order_by(Region.path)
        )
        assert village is not None
        await set_user(
            session, username="gw3", role=Role.GRID_WORKER, password=PASSWORD,
            region_codes=[village], phone="13900000002", notify=True,
        )  # fmt: skip
    return village


async def test_a_notice_run_does_not_query_per_escalated_relay(console: Console) -> None:
    db = db_of(console)
    village = await _first_village_with_gw3(db)
    town = await relay_town(console, phone="13900000001")
    resources: Resources = console.client.server.app[RESOURCES]
    await resources.queue.join()  # type: ignore[attr-defined]
    async with db() as session:
        push_id = await session.scalar(select(Push.id).where(Push.item_id == town.urgent))
    assert push_id is not None

    await _escalated_relays(console, push_id, village, 3)
    await notify_staff({"resources": resources})  # tells round 2 of the three
    few = await _queries(resources)
    await _escalated_relays(console, push_id, village, 27)
    await notify_staff({"resources": resources})  # tells round 2 of the 27 more
    many = await _queries(resources)
    assert len(many) == len(few), (len(few), len(many))
    relay_reads = [q for q in many if "FROM delivery JOIN group_chat" in q]
    assert len(relay_reads) == 1, relay_reads  # escalation and notices share one read

    # only the 30 inserted relays are escalated; round 2 of each went to the village's
    # other keeper (grid_worker keeps 第一网格群 there), not to gw3 who keeps the
    # waiting groups, nor to gw2 of another village
    async with db() as session:
        told = list(
            await session.execute(
                select(StaffNotice.subject, User.username)
                .join(User, User.id == StaffNotice.user_id)
                .where(StaffNotice.round == 2, StaffNotice.subject.startswith("relay:"))
            )
        )
    keepers = {u for _, u in told}
    assert len({s for s, _ in told}) == 30 and keepers == {"grid_worker"}, told


async def test_a_relay_escalated_by_a_run_is_told_in_that_run(console: Console) -> None:
    db = db_of(console)
    village = await _first_village_with_gw3(db)
    async with transaction(db) as session:
        await create_chat(session, ChatIn("东山村二群", village, kind="relay", keeper="gw3"))
    town = await relay_town(console, phone="13900000001")
    resources: Resources = console.client.server.app[RESOURCES]
    await resources.queue.join()  # type: ignore[attr-defined]
    async with transaction(db) as session:
        row = await session.scalar(
            select(Delivery)
            .join(Push, Push.id == Delivery.push_id)
            .where(Delivery.group_chat_id == town.mine, Push.item_id == town.urgent)
        )
        assert row is not None
        minutes = resources.settings.relay_urgent_minutes
        row.created_at = utcnow() - timedelta(minutes=minutes + 1)  # grid_worker's relay is late
        subject = f"relay:{row.id}"

    assert (await notify_staff({"resources": resources}))["escalated"] == 1
    async with db() as session:
        told = set(
            await session.scalars(
                select(User.username)
                .join(StaffNotice, StaffNotice.user_id == User.id)
                .where(StaffNotice.subject == subject, StaffNotice.round == 2)
            )
        )
    assert told == {"gw3"}, told  # the village's other keeper, in the run that escalated it
