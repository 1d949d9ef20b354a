"""The rig's town with a chat of every kind: the demo's robots (one per village), a
WeCom customer group in the first village, an ordinary WeChat group in the second kept
by the ``grid_worker`` user, and a robot in a grid of the third that is retired."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from pusher.db import SessionFactory, transaction
from pusher.models import GroupChat, Region, User, UserRegion
from pusher.town.chats import ChatIn, create_chat
from pusher.town.regions import by_code, retire_region

OWNER, WECOM_CHAT = "wang.owner", "wrOgAAAA0001"


@dataclass(frozen=True)
class Chats:
    customer: int
    relay: int
    retired: int
    keeper: int  # the relay group's keeper (user id)
    robots: list[int]


async def add_chats(db: SessionFactory, villages: list[str]) -> Chats:
    async with transaction(db) as session:
        keeper = await session.scalar(select(User).where(User.username == "grid_worker"))
        assert keeper is not None and keeper.id is not None
        second = await by_code(session, villages[1])
        session.add(UserRegion(user_id=keeper.id, region_id=second.id or 0))
        await session.flush()
        robots = list(await session.scalars(select(GroupChat.id)))
        customer = await create_chat(
            session,
            ChatIn(
                "东山村客户群",
                villages[0],
                kind="customer_group",
                owner_userid=OWNER,
                wecom_chat_id=WECOM_CHAT,
            ),
        )
        relay = await create_chat(
            session, ChatIn("西河村微信群", villages[1], kind="relay", keeper="grid_worker")
        )
        grid = await session.scalar(select(Region).where(Region.code == f"{villages[2]}01"))
        assert grid is not None
        retired = await create_chat(session, ChatIn("网格群", grid.code, "grid-robot-key-1"))
        await retire_region(session, grid, "并网")
    assert customer.id and relay.id and retired.id
    return Chats(customer.id, relay.id, retired.id, keeper.id, [int(r) for r in robots if r])
