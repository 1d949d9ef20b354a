"""A push plans one delivery row per active matched group chat of every kind: robots
queued for their key as before, a customer group queued for its chat id with no time
(the mass-message job takes it), a relayed group waiting for its keeper; a chat in a
retired region gets none. Dispatch and the sweeper never take the rows a person
completes, and the push is done once its resident and robot rows are."""

from __future__ import annotations

from datetime import timedelta

import pytest

from channels.base import ChannelKind
from pusher.db import transaction
from pusher.models import DeliveryStatus, Push, utcnow
from pusher.pipeline.claims import claim
from pusher.pipeline.sweep import due_work
from pusher.runtime import jobs
from pusher.settings import Settings
from tests.fanout.rig import running, urgent_push
from tests.groups.town import OWNER, WECOM_CHAT, add_chats

BACKENDS = ["sqlite_settings", pytest.param("production_settings", marks=pytest.mark.production)]


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest) -> Settings:
    found: Settings = request.getfixturevalue(request.param)
    return found


async def test_every_kind_of_chat_gets_its_row_and_dispatch_leaves_the_persons_rows(
    settings: Settings,
) -> None:
    async with running(settings, residents=60) as rig:
        chats = await add_chats(rig.resources.db, rig.town.village_codes)
        push_id = await urgent_push(rig)
        rows = {d.group_chat_id: d for d in await rig.deliveries(push_id) if d.group_chat_id}
        assert set(rows) == {*chats.robots, chats.customer, chats.relay}  # not the retired
        for robot in chats.robots:
            assert (rows[robot].channel, rows[robot].status) == ("wecom", "queued")
            assert rows[robot].next_attempt_at is not None
        customer, relay = rows[chats.customer], rows[chats.relay]
        assert (customer.channel, customer.status, customer.recipient) == (
            "wecom_group",
            "queued",
            WECOM_CHAT,
        )
        assert customer.provider == "wecom" and customer.next_attempt_at is None
        assert (relay.channel, relay.status, relay.recipient) == (
            "relay",
            "waiting",
            str(chats.keeper),
        )
        assert relay.next_attempt_at is None and relay.provider is None
        assert OWNER  # the owner is on the chat, not the row

        for _ in range(2):
            for kind in ChannelKind:
                await jobs.dispatch(rig.ctx, push_id, kind.value)
        later = utcnow() + timedelta(hours=1)
        assert all(
            c not in ("relay", "wecom_group") for _, c in await due_work(rig.resources.db, later)
        )
        async with transaction(rig.resources.db) as session:
            for channel in ("relay", "wecom_group"):
                taken = await claim(
                    session, push_id=push_id, channel=channel, worker="w", limit=100,
                    lease=timedelta(minutes=1), now=later,
                )  # fmt: skip
                assert taken == []
            push = await session.get_one(Push, push_id)
        assert push.status == "done"  # resident and robot rows settled; group rows wait
        rows = {d.group_chat_id: d for d in await rig.deliveries(push_id) if d.group_chat_id}
        assert rows[chats.relay].status == DeliveryStatus.WAITING
        assert rows[chats.relay].attempts == 0
        assert rows[chats.customer].status == DeliveryStatus.QUEUED
        assert all(rows[r].status in ("sent", "delivered") for r in chats.robots)
