"""An urgent notice for an ordinary WeChat group reaches its keeper's phone at once with
the text ready to forward; a relay still waiting after ``relay_urgent_minutes``
(urgent) or past the day's end hour (normal) escalates exactly once — audited — to the
village's other keepers and the office; a relay marked in time never escalates."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from pusher.console.accounts import set_user
from pusher.db import transaction
from pusher.models import AuditLog, Region, Role, SandboxMessage, StaffNotice, User
from pusher.runtime.context import Resources
from pusher.staff.notify import Outbox, notify_due
from pusher.staff.relay import due_at, escalate_relays
from pusher.summary.relay import base36
from pusher.town.chats import ChatIn, create_chat
from pusher.web.keys import RESOURCES
from tests.console.test_console import PASSWORD, Console, console, db_of
from tests.groups.relay_town import relay_row, relay_town

__all__ = ["console"]
KEEPER_PHONE, OTHER_PHONE, OFFICE_PHONE = "13900000001", "13900000002", "13900000003"
URGENT_AFTER = timedelta(minutes=10)


async def _escalate(console: Console, now):  # type: ignore[no-untyped-def]
    return await escalate_relays(db_of(console), now=now, urgent_after=URGENT_AFTER, day_end=18)


async def _notices(console: Console, round_: int) -> set[tuple[str, str]]:
    async with db_of(console)() as session:
        rows = await session.execute(
            select(StaffNotice.subject, User.username)
            .join(User, User.id == StaffNotice.user_id)
            .where(StaffNotice.round == round_, StaffNotice.subject.startswith("relay:"))
        )
    return {(s, u) for s, u in rows}


async def test_the_keeper_is_told_at_once_and_a_late_relay_escalates_once(
    console: Console,
) -> None:
    db = db_of(console)
    async with transaction(db) as session:
        first_village = await session.scalar(
            select(Region.code).where(Region.kind == "village").order_by(Region.path)
        )
        assert first_village is not None
        await set_user(
            session, username="gw3", role=Role.GRID_WORKER, password=PASSWORD,
            region_codes=[first_village], phone=OTHER_PHONE, notify=True,
        )  # fmt: skip
        await set_user(
            session, username="publisher", role=Role.PUBLISHER, password=PASSWORD,
            phone=OFFICE_PHONE, notify=True,
        )  # fmt: skip
        await create_chat(session, ChatIn("东山村二群", first_village, kind="relay", keeper="gw3"))
    town = await relay_town(console, phone=KEEPER_PHONE)
    resources: Resources = console.client.server.app[RESOURCES]
    await resources.queue.join()  # type: ignore[attr-defined]

    async with db() as session:
        told = list(
            await session.scalars(
                select(SandboxMessage.text).where(SandboxMessage.recipient == KEEPER_PHONE)
            )
        )
    link = f"/s/{base36(town.urgent)}?g={base36(town.mine)}"
    assert len(told) == 1 and "第一网格群" in told[0] and link in told[0], told  # at once

    urgent = await relay_row(console, town.mine, town.urgent)
    first = await relay_row(console, town.mine, town.first)
    planned = urgent.created_at
    assert await _escalate(console, planned + URGENT_AFTER - timedelta(seconds=5)) == 0
    late = planned + URGENT_AFTER + timedelta(seconds=5)
    # the urgent warning's rows: mine, gw2's and gw3's groups; the normal ones wait still
    assert await _escalate(console, late) == 3
    assert await _escalate(console, late + timedelta(minutes=1)) == 0  # once
    evening = due_at(first.created_at, urgent=False, urgent_after=URGENT_AFTER, day_end=18)
    assert await _escalate(console, evening - timedelta(seconds=5)) == 0
    assert await _escalate(console, evening + timedelta(seconds=5)) == 4  # 2 notices, 2 groups
    assert await _escalate(console, evening + timedelta(hours=1)) == 0
    async with db() as session:
        audits = await session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "relay.escalated")
        )
    assert audits == 7
    assert (await relay_row(console, town.mine, town.urgent)).attempts == 1

    outbox = Outbox(channels=resources.channels, public_url="http://town.example")
    await notify_due(db, outbox, now=evening + timedelta(seconds=10))
    await notify_due(db, outbox, now=evening + timedelta(seconds=20))  # nobody twice
    escalated = await _notices(console, 2)
    subject = f"relay:{urgent.id}"
    assert {(subject, "gw3"), (subject, "publisher")} <= escalated
    assert (subject, "grid_worker") not in escalated  # the keeper had round 1
    async with db() as session:
        again = await session.scalar(
            select(func.count()).select_from(StaffNotice).where(StaffNotice.subject == subject)
        )
    assert again == 3  # keeper (round 1), gw3 and the office (round 2), each once


async def test_a_relay_marked_in_time_never_escalates(console: Console) -> None:
    town = await relay_town(console)
    urgent = await relay_row(console, town.mine, town.urgent)
    await console.login("grid_worker")
    await console.post(f"/relay/{urgent.id}/done", {})
    late = urgent.created_at + URGENT_AFTER + timedelta(minutes=1)
    assert await _escalate(console, late) == 1  # gw2's group only
    assert (await relay_row(console, town.mine, town.urgent)).attempts == 0
