"""A console town with ordinary WeChat groups: 第一网格群 in the first grid kept by
``grid_worker`` (assigned there), 西河村群 in the second village kept by ``gw2``; three
items approved: an urgent town-wide warning first, then two normal notices about the
first village (so ``grid_worker``'s group gets all three, ``gw2``'s the warning)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from pusher.console.accounts import set_user
from pusher.db import transaction
from pusher.models import Delivery, Region, Role, Urgency
from pusher.town.chats import ChatIn, create_chat
from pusher.web.keys import RESOURCES
from tests.console.test_console import PASSWORD, Console, db_of
from tests.spine.flow import publish


@dataclass(frozen=True)
class RelayTown:
    mine: int  # grid_worker's group chat
    theirs: int  # gw2's
    urgent: int  # item ids
    first: int
    second: int


async def relay_town(console: Console, *, phone: str | None = None) -> RelayTown:
    db = db_of(console)
    async with transaction(db) as session:
        villages = list(
            await session.scalars(
                select(Region.code).where(Region.kind == "village").order_by(Region.path)
            )
        )
        grid = await session.scalar(select(Region.code).where(Region.id == console.grid_ids[0]))
        assert grid is not None
        await set_user(
            session, username="gw2", role=Role.GRID_WORKER, password=PASSWORD,
            region_codes=[villages[1]],
        )  # fmt: skip
        if phone is not None:
            await set_user(
                session, username="grid_worker", role=Role.GRID_WORKER, password=PASSWORD,
                region_codes=[grid], phone=phone, notify=True,
            )  # fmt: skip
        mine = await create_chat(
            session, ChatIn("第一网格群", grid, kind="relay", keeper="grid_worker")
        )
        theirs = await create_chat(
            session, ChatIn("西河村群", villages[1], kind="relay", keeper="gw2")
        )
        town = await session.scalar(select(Region.code).where(Region.kind == "town"))
    assert mine.id and theirs.id and town
    resources = console.client.server.app[RESOURCES]
    ids = []
    for title, code, urgency in (
        ("青山镇山洪预警", town, Urgency.URGENT),
        ("东山村道路维修通知", villages[0], Urgency.NORMAL),
        ("东山村自来水停水通知", villages[0], Urgency.NORMAL),
    ):
        body = f"{title}。请相互转告，注意安全，有困难请联系村委会。"
        ids.append(
            await publish(resources, region_code=code, title=title, body=body, urgency=urgency)
        )
        await resources.queue.join()  # planned in order: ids grow with time
    return RelayTown(mine.id, theirs.id, *ids)


async def relay_row(console: Console, chat_id: int, item_id: int) -> Delivery:
    from pusher.models import Push

    async with db_of(console)() as session:
        row = await session.scalar(
            select(Delivery)
            .join(Push, Push.id == Delivery.push_id)
            .where(Delivery.group_chat_id == chat_id, Push.item_id == item_id)
        )
    assert row is not None, (chat_id, item_id)
    return row
