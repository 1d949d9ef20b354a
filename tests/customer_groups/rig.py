"""A small town with WeCom customer groups of two owners, wired to the WeCom emulator.

Owner ``zhang`` keeps two groups (东山村 and 西河村), owner ``li`` one (南岭村, kept in
the console by ``grid_worker``, who agreed to 待办提醒 by SMS). The job functions are
called by the tests, with the clock they choose.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr
from sqlalchemy import select

from channels.emulators.wecom import build_app
from channels.emulators.wecom_groupmsg import GROUPMSG
from channels.emulators.wecom_groupmsg_state import GroupMsgEmulator
from channels.wecom_groupmsg import WeComAppSettings
from pusher.db import transaction
from pusher.models import Delivery, GroupTask, Region, Urgency, User, UserRegion, utcnow
from pusher.runtime.context import Resources
from pusher.runtime.group_jobs import run_group_tasks
from pusher.runtime.jobs import process_item
from pusher.runtime.resources import open_resources
from pusher.settings import Settings
from pusher.town.chats import ChatIn, create_chat
from tests.fanout.rig import RecordingQueue
from tests.spine.conftest import start
from tests.spine.flow import publish

CORP, SECRET = "ww-grouprecord-test", "grouprecord-secret"
OWNERS = {"zhang": frozenset({"wrZ1", "wrZ2"}), "li": frozenset({"wrL1"})}
KEEPER_PHONE = "13900001111"


@dataclass
class Rig:
    resources: Resources
    queue: RecordingQueue
    emulator: GroupMsgEmulator
    url: str
    chats: dict[str, int]  # wecom chat id → our group chat id

    @property
    def ctx(self) -> dict[str, Any]:
        return {"resources": self.resources}

    async def push(self, *, title: str = "森林火险红色预警") -> int:
        """Publish a town-wide urgent warning (it reaches every village's groups) and plan
        it; its push id."""
        town = await self._town_code()
        item_id = await publish(
            self.resources, region_code=town, title=title, body="进入林区严禁携带火种。",
            urgency=Urgency.URGENT,
        )
        push_id = await process_item(self.ctx, item_id)
        assert push_id is not None
        return push_id

    async def run(self, push_id: int | None = None, *, now: datetime | None = None) -> Any:
        return await run_group_tasks(self.resources, push_id, now=now or utcnow())

    async def confirm(self, msgid: str, sender: str) -> None:
        async with self.resources.http.post(
            f"{self.url}emulator/groupmsg/confirm", json={"msgid": msgid, "sender": sender}
        ) as resp:
            assert resp.status == 200, await resp.text()

    async def rows(self, push_id: int) -> dict[str, Delivery]:
        """The push's customer-group rows by WeCom chat id."""
        async with self.resources.db() as session:
            found = await session.scalars(
                select(Delivery).where(
                    Delivery.push_id == push_id, Delivery.channel == "wecom_group"
                )
            )
            return {str(d.recipient): d for d in found}

    async def tasks(self, push_id: int) -> dict[str, GroupTask]:
        async with self.resources.db() as session:
            found = await session.scalars(select(GroupTask).where(GroupTask.push_id == push_id))
            return {t.owner_userid: t for t in found}

    async def _town_code(self) -> str:
        async with self.resources.db() as session:
            code = await session.scalar(select(Region.code).where(Region.kind == "town"))
        assert code is not None
        return code


@asynccontextmanager
async def running(settings: Settings, **emulator: Any) -> AsyncIterator[Rig]:
    town, _ = await start(settings, residents=40)
    state = GroupMsgEmulator(corp_id=CORP, corp_secret=SECRET, owners=OWNERS, **emulator)
    app: web.Application = build_app(groupmsg=state)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("/"))
    configured = settings.model_copy(
        update={
            "wecom_app": WeComAppSettings(
                corp_id=CORP, corp_secret=SecretStr(SECRET), base_url=url, timeout_seconds=0.5
            ),
            "queue_name": f"pusher:test:{uuid.uuid4().hex[:8]}",
        }
    )
    try:
        async with open_resources(configured, queue=RecordingQueue()) as resources:
            chats = await add_customer_groups(resources, town.village_codes)
            queue = resources.queue
            assert isinstance(queue, RecordingQueue)
            yield Rig(resources, queue, app[GROUPMSG], url, chats)
    finally:
        await server.close()


async def add_customer_groups(resources: Resources, villages: list[str]) -> dict[str, int]:
    async with transaction(resources.db) as session:
        keeper = await session.scalar(select(User).where(User.username == "grid_worker"))
        assert keeper is not None
        keeper.phone, keeper.notify_consent_at = KEEPER_PHONE, utcnow()
        third = await session.scalar(select(Region).where(Region.code == villages[2]))
        assert third is not None and keeper.id is not None and third.id is not None
        session.add(UserRegion(user_id=keeper.id, region_id=third.id))
        await session.flush()
        specs = [
            ("东山村客户群", villages[0], "zhang", "wrZ1", ""),
            ("西河村客户群", villages[1], "zhang", "wrZ2", ""),
            ("南岭村客户群", villages[2], "li", "wrL1", "grid_worker"),
        ]
        chats = {}
        for name, village, owner, chat_id, keeper_name in specs:
            chat = await create_chat(
                session,
                ChatIn(name, village, kind="customer_group", owner_userid=owner,
                       wecom_chat_id=chat_id, keeper=keeper_name),
            )
            assert chat.id is not None
            chats[chat_id] = chat.id
    return chats
