"""Group deliveries in the record: the item page's 群聊 section, the delivery log's kind
filter and export, the API's kind filter, the dashboard's group block, the follow-up
list of customer groups, each inside the viewer's scope.

The record is written here as the pipeline leaves it (one row per push and group chat,
the kind in ``channel``), so each view is checked against rows whose meaning is known.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from pusher.db import transaction
from pusher.models import (
    Delivery,
    GroupChat,
    GroupTask,
    Item,
    LinkOpen,
    Push,
    Region,
    Resident,
)
from pusher.settings import Settings
from tests.console.test_console import Console, _console, db_of

SENT_AT = datetime(2026, 11, 3, 2, 5, tzinfo=UTC)  # 10:05 Beijing time


@dataclass
class Record:
    console: Console
    item_id: int
    push_id: int
    chats: dict[str, int]  # name → id
    villages: list[str]  # the names of the two villages used


@pytest.fixture
async def record(sqlite_settings: Settings) -> AsyncIterator[Record]:
    async for console in _console(sqlite_settings):
        yield await _write(console)


async def _write(console: Console) -> Record:
    """One pushed item: a resident row, and in village A (grid 1, the grid worker's) a
    relayed group sent by grid_worker and a relayed group waiting; in village B a robot
    group sent, a customer group waiting (its owner reminded), one not sent."""
    async with transaction(db_of(console)) as db:
        grid_rows = select(Region).where(Region.kind == "grid").order_by(Region.path)
        grids = (await db.scalars(grid_rows)).all()
        villages = (
            await db.scalars(select(Region).where(Region.kind == "village").order_by(Region.path))
        ).all()
        a, b = villages[0], next(v for v in villages if not grids[0].path.startswith(v.path))
        assert grids[0].path.startswith(a.path)
        grid_b = next(g for g in grids if g.path.startswith(b.path))
        item = Item(title="秋季森林防火通知", body="进入林区严禁带火种。", publisher="镇政府",
                    region_id=a.parent_id or a.id, status="pushed")
        db.add(item)
        await db.flush()
        push = Push(item_id=item.id, status="dispatching", texts={"link": "http://x/s/1"})
        db.add(push)
        await db.flush()
        specs = [  # name, region, kind, channel, status, extra
            ("甲村一组群", grids[0], "relay", "relay", "sent",
             {"provider": "relay", "provider_id": "grid_worker", "sent_at": SENT_AT}),
            ("甲村二组群", grids[0], "relay", "relay", "waiting", {}),
            ("乙村机器人群", b, "robot", "wecom", "sent", {"sent_at": SENT_AT}),
            ("乙村客户群", grid_b, "customer_group", "wecom_group", "waiting",
             {"provider": "wecom", "provider_id": "msg-1"}),
            ("乙村老年客户群", grid_b, "customer_group", "wecom_group", "failed",
             {"provider": "wecom", "provider_id": "msg-2", "error_code": "owner_not_sent",
              "error_message": "群主未发送：24 小时内未在企业微信中确认发送"}),
        ]
        chats: dict[str, int] = {}
        for name, region, kind, channel, status, extra in specs:
            chat = GroupChat(name=name, region_id=region.id, robot_key="", kind=kind,
                             owner_userid="owner-b" if kind == "customer_group" else None,
                             wecom_chat_id=f"wr-{name}")
            db.add(chat)
            await db.flush()
            assert chat.id is not None
            chats[name] = chat.id
            db.add(Delivery(push_id=push.id, group_chat_id=chat.id, region_id=region.id,
                            channel=channel, status=status, recipient=f"wr-{name}",
                            next_attempt_at=None, **extra))
        resident = await db.scalar(select(Resident).where(Resident.region_id == grids[0].id))
        assert resident is not None
        db.add(Delivery(push_id=push.id, resident_id=resident.id, region_id=grids[0].id,
                        channel="sms", status="sent", recipient=resident.phone))
        db.add(GroupTask(push_id=push.id, owner_userid="owner-b", msgid="msg-1", status="waiting",
                         remind_at=SENT_AT, reminded_at=SENT_AT))
        today = date(2026, 11, 3)
        db.add(LinkOpen(item_id=item.id, region_code=a.code, group_chat_id=chats["甲村一组群"],
                        day=today, opens=3))
        db.add(LinkOpen(item_id=item.id, region_code=a.code, day=today, opens=2))
        db.add(LinkOpen(item_id=item.id, region_code="", group_chat_id=chats["乙村客户群"],
                        day=today, opens=4))
        assert item.id is not None and push.id is not None
        return Record(console, item.id, push.id, chats, [a.name, b.name])


def _rows(page: str) -> dict[str, str]:
    """The item page's group lines: chat id → the line's text, tags stripped."""
    lines = re.findall(r'<tr class="group-row[^"]*" data-chat="(\d+)">(.*?)</tr>', page, re.S)
    return {chat: " ".join(re.sub(r"<[^>]+>", " ", body).split()) for chat, body in lines}


async def test_item_page_shows_groups_by_village_with_state_and_opens(record: Record) -> None:
    c = record.console
    assert await c.login("publisher") == 302
    page = await (await c.client.get(f"/items/{record.item_id}")).text()
    assert 'id="groups"' in page
    rows = _rows(page)
    ids = {name: str(i) for name, i in record.chats.items()}
    relayed = ["甲村一组群", "人工转发", "已转发", "2026-11-03", "10:05", "grid_worker", "3"]
    assert rows[ids["甲村一组群"]].split() == relayed
    assert rows[ids["甲村二组群"]].split()[:3] == ["甲村二组群", "人工转发", "待转发"]
    assert rows[ids["乙村机器人群"]].split()[:3] == ["乙村机器人群", "群机器人", "已发送"]
    assert rows[ids["乙村客户群"]].split()[:3] == ["乙村客户群", "客户群", "待群主确认"]
    assert rows[ids["乙村客户群"]].split()[-1] == "4"
    failed = rows[ids["乙村老年客户群"]]
    assert "未发出" in failed and "24 小时内未在企业微信中确认发送" in failed
    # villages in region order; A: 3 (its group's link) + 2 (the village's); B: 4 (a group
    # link that named no village counts for the group's village)
    sections = re.findall(r"<b>([^<]+)</b>　<span class=\"hint\">链接打开 (\d+) 次", page)
    assert sections == [(record.villages[0], "5"), (record.villages[1], "4")]
    assert page.index("甲村一组群") < page.index("乙村机器人群")


async def test_delivery_log_filters_by_kind_and_channel_in_scope(record: Record) -> None:
    c = record.console
    assert await c.login("admin") == 302
    page = await (await c.client.get(f"/deliveries?push={record.push_id}&kind=group")).text()
    assert "共 5 条" in page
    for name in record.chats:
        assert name in page
    assert "待群主确认" in page and "已转发" in page
    page = await (await c.client.get(f"/deliveries?push={record.push_id}&kind=resident")).text()
    assert "共 1 条" in page and "乙村客户群" not in page
    page = await (await c.client.get(f"/deliveries?push={record.push_id}&channel=relay")).text()
    assert "共 2 条" in page and "甲村一组群" in page and "乙村机器人群" not in page
    page = await (
        await c.client.get(f"/deliveries?push={record.push_id}&channel=wecom_group")
    ).text()
    assert "共 2 条" in page and "乙村老年客户群" in page
    # the grid worker of grid 1 sees its own two relayed groups and resident, nothing of B
    assert await c.login("grid_worker") == 302
    page = await (await c.client.get(f"/deliveries?push={record.push_id}&kind=group")).text()
    assert "共 2 条" in page and "甲村二组群" in page and "乙村客户群" not in page


async def test_export_has_the_group_rows(record: Record) -> None:
    c = record.console
    assert await c.login("admin") == 302
    resp = await c.client.get(f"/deliveries/export.csv?push={record.push_id}")
    assert resp.status == 200
    rows = list(csv.reader(io.StringIO((await resp.read()).decode("utf-8-sig"))))
    assert rows[0][2] == "居民/群聊"
    by_name = {r[2]: r for r in rows[1:]}
    assert set(record.chats) <= set(by_name)
    assert len(rows) == 1 + 6
    assert by_name["甲村二组群"][5] == "人工转发" and by_name["甲村二组群"][7] == "待转发"
    assert by_name["乙村老年客户群"][9] == "owner_not_sent"


async def test_api_filters_by_kind_in_scope(record: Record) -> None:
    c = record.console
    auth = {"Authorization": "Bearer publisher"}
    url = f"/api/v1/deliveries?push_id={record.push_id}"
    body = await (await c.client.get(url + "&kind=group", headers=auth)).json()
    assert body["total"] == 5
    assert {d["group_chat_id"] for d in body["deliveries"]} == set(record.chats.values())
    body = await (await c.client.get(url + "&kind=resident", headers=auth)).json()
    assert body["total"] == 1 and body["deliveries"][0]["group_chat_id"] is None
    body = await (await c.client.get(url + "&channel=wecom_group", headers=auth)).json()
    assert sorted(d["status"] for d in body["deliveries"]) == ["failed", "waiting"]
    resp = await c.client.get(url + "&kind=groups", headers=auth)
    assert resp.status == 422 and "kind" in (await resp.json())["error"]
    mine = {"Authorization": "Bearer grid_worker"}
    body = await (await c.client.get(url + "&kind=group", headers=mine)).json()
    assert {d["group_chat_id"] for d in body["deliveries"]} == {
        record.chats["甲村一组群"], record.chats["甲村二组群"]
    }


async def test_dashboard_counts_groups_by_kind_and_state(record: Record) -> None:
    c = record.console
    async with transaction(db_of(c)) as db:  # in the dashboard's default window (7 days)
        rows = await db.scalars(select(Delivery).where(Delivery.push_id == record.push_id))
        for d in rows:
            d.created_at = datetime.now(UTC) - timedelta(hours=1)
    assert await c.login("admin") == 302
    page = await (await c.client.get("/")).text()
    block = page[page.index('id="group-block"') :]
    block = re.sub(r"<[^>]+>", " ", block[: block.index("</section>")])
    words = " ".join(block.split())
    assert "群机器人 1 个群： 已发送 1" in words
    assert "客户群 2 个群：" in words and "待群主确认 1" in words and "未发出 1" in words
    assert "人工转发 2 个群：" in words and "已转发 1" in words and "待转发 1" in words
    assert await c.login("grid_worker") == 302
    page = await (await c.client.get("/")).text()
    block = page[page.index('id="group-block"') :]
    words = " ".join(re.sub(r"<[^>]+>", " ", block[: block.index("</section>")]).split())
    assert "人工转发 2 个群" in words and "客户群" not in words


async def test_followup_lists_reminded_customer_groups(record: Record) -> None:
    c = record.console
    mine = r'class="card group-followup" data-delivery="\d+">\s*<b>([^<]+)</b>'
    assert await c.login("admin") == 302
    page = await (await c.client.get("/followup")).text()
    assert re.findall(mine, page) == ["乙村客户群"]
    assert "群主未确认（已提醒）" in page and "owner-b" in page
    # the one not sent is among the groups not reached, not here
    assert "乙村老年客户群" in page[page.index("未送达的群聊") :]
    # not reminded yet: not listed
    async with transaction(db_of(c)) as db:
        task = await db.scalar(select(GroupTask))
        assert task is not None
        task.reminded_at = None
    page = await (await c.client.get("/followup")).text()
    assert re.findall(mine, page) == []
    # a grid worker of village A sees none of B's
    async with transaction(db_of(c)) as db:
        task = await db.scalar(select(GroupTask))
        assert task is not None
        task.reminded_at = SENT_AT
    assert await c.login("grid_worker") == 302
    page = await (await c.client.get("/followup")).text()
    assert "group-followup" not in page
