"""Registering a chat of each kind through ``/api/v1/group-chats``: what each kind needs,
refused with a Chinese sentence (4xx, never 500) when missing or wrong; a keeper must be
a console user whose scope covers the chat's region; a kind is fixed once registered;
a new keeper takes the relays still waiting."""

from __future__ import annotations

from typing import Any

import pytest

from pusher.db import transaction
from pusher.models import Delivery, DeliveryStatus, GroupChat, Item, Push
from tests.spine.conftest import Service
from tests.town.test_api_town import GRID, VILLAGE, Client, _grid_worker_in, call

CHATS = "/api/v1/group-chats"
OTHER_VILLAGE = "360123101002"


async def test_each_kind_is_registered_with_what_it_needs(service: Service, client: Client) -> None:
    await _grid_worker_in(service, VILLAGE)
    base = {"name": "东山村微信群", "region_code": VILLAGE}
    status, relay = await call(
        client, "POST", CHATS, "publisher", base | {"kind": "relay", "keeper": "grid_worker"}
    )
    assert status == 201, relay
    assert relay["kind"] == "relay" and relay["keeper_user_id"] and relay["robot_key"] == ""
    customer = base | {"name": "东山村客户群", "kind": "customer_group"}
    customer |= {"owner_userid": "li.si", "wecom_chat_id": "wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA"}
    status, made = await call(client, "POST", CHATS, "publisher", customer)
    assert status == 201 and made["owner_userid"] == "li.si", made
    status, body = await call(client, "POST", CHATS, "publisher", customer | {"name": "重复"})
    assert status == 409 and "已登记" in body["error"]
    status, listed = await call(client, "GET", CHATS, "grid_worker")
    assert {c["kind"] for c in listed["group_chats"]} >= {"relay", "customer_group"}


@pytest.mark.parametrize(
    ("extra", "status", "words"),
    [
        ({"kind": "relay"}, 422, "转发人"),
        ({"kind": "relay", "keeper": "nobody"}, 422, "不是在用的控制台用户"),
        ({"kind": "relay", "keeper": "grid_worker", "region_code": OTHER_VILLAGE}, 422, "不负责"),
        (
            {"kind": "relay", "keeper": "grid_worker", "robot_key": "abcdefgh12"},
            422,
            "只有群机器人",
        ),
        ({"kind": "customer_group", "wecom_chat_id": "wr1"}, 422, "群主"),
        ({"kind": "customer_group", "owner_userid": "li"}, 422, "群 ID"),
        ({"kind": "customer_group", "owner_userid": "李四", "wecom_chat_id": "wr1"}, 422, "群主"),
        ({"kind": "robot"}, 422, "Webhook"),
        ({"kind": "wechat"}, 422, "群聊类型"),
        ({"kind": "x" * 17}, 422, ""),
    ],
)
async def test_what_a_kind_needs_is_refused_with_a_sentence(
    service: Service, client: Client, extra: dict[str, Any], status: int, words: str
) -> None:
    await _grid_worker_in(service, VILLAGE)
    body = {"name": "群", "region_code": VILLAGE} | extra
    got, answer = await call(client, "POST", CHATS, "publisher", body)
    assert got == status and words in str(answer["error"]), answer


async def test_the_kind_is_fixed_and_a_new_keeper_takes_the_waiting_relays(
    service: Service, client: Client
) -> None:
    await _grid_worker_in(service, GRID)
    body = {"name": "第一网格群", "region_code": GRID, "kind": "relay", "keeper": "grid_worker"}
    status, chat = await call(client, "POST", CHATS, "publisher", body)
    assert status == 201, chat
    async with transaction(service.resources.db) as session:
        item = Item(title="通知", body="正文", publisher="镇政府", region_id=1)
        session.add(item)
        await session.flush()
        push = Push(item_id=item.id or 0)
        session.add(push)
        await session.flush()
        row = Delivery(
            push_id=push.id or 0, group_chat_id=chat["id"], channel="relay",
            recipient=str(chat["keeper_user_id"]), status=DeliveryStatus.WAITING,
            next_attempt_at=None,
        )  # fmt: skip
        session.add(row)
    path = f"{CHATS}/{chat['id']}"
    status, answer = await call(client, "PUT", path, "publisher", body | {"kind": "robot"})
    assert status == 409 and "类型" in answer["error"]
    status, answer = await call(client, "PUT", path, "publisher", body | {"keeper": "leader"})
    assert status == 200 and answer["moved"] == 1, answer
    async with service.resources.db() as session:
        moved = await session.get_one(Delivery, row.id)
        leader_chat = await session.get_one(GroupChat, chat["id"])
    assert moved.recipient == str(leader_chat.keeper_user_id) != str(chat["keeper_user_id"])
    status, answer = await call(client, "POST", f"{path}/test", "publisher")
    assert status == 409 and "群机器人" in answer["error"]
    status, answer = await call(client, "POST", f"{path}/deactivate", "publisher")
    assert status == 200 and answer["cancelled"] == 1
