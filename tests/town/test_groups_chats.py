"""Office topics with keywords, groups with rules and a preview of who is in them, list
members within the caller's regions, group chats (masked key, re-addressing waiting
messages, deactivation, a test message to the WeCom emulator)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from channels.emulators import wecom as wecom_emu
from channels.ratelimit import MemoryRateLimiter
from channels.wecom import WeComRobotChannel, WeComSettings
from pusher.db import SessionFactory, transaction
from pusher.errors import Conflict, InvalidInput
from pusher.models import (
    Delivery,
    DeliveryStatus,
    GroupChat,
    Item,
    Resident,
    ResidentTag,
    Rule,
    Topic,
)
from pusher.pipeline.match import find_matches
from pusher.pipeline.rulebook import Rulebook
from pusher.town.chats import (
    ChatIn,
    chat_json,
    create_chat,
    send_test_message,
    set_chat_active,
    update_chat,
)
from pusher.town.groups import GroupIn, create_group, preview, set_members
from pusher.town.region_import import import_regions
from pusher.town.regions import by_code
from pusher.town.topics import TopicIn, create_topic, set_topic_active

TOWN, V1, V2 = "360123101000", "360123101001", "360123101002"
G1, G2 = f"{V1}01", f"{V2}01"


@pytest.fixture
async def town(db: SessionFactory) -> SessionFactory:
    sheet = [
        (TOWN, "青山镇", ""),
        (V1, "东山村", TOWN),
        (V2, "西河村", TOWN),
        (G1, "东山村第一网格", V1),
        (G2, "西河村第一网格", V2),
    ]
    async with transaction(db) as session:
        report = await import_regions(
            session, [{"代码": c, "名称": n, "上级代码": p} for c, n, p in sheet]
        )
        assert report.ok
    return db


async def _resident(
    db: SessionFactory, grid: str, *, wechat: bool, sms: bool, tag: str = ""
) -> int:
    async with transaction(db) as session:
        region = await by_code(session, grid)
        n = uuid.uuid4().int % 10**8
        r = Resident(
            name="居民",
            region_id=region.id or 0,
            phone=f"139{n:08d}",
            sms_consent=sms,
            openid=f"o{n:027d}" if wechat else None,
            wechat_follows=wechat,
        )
        session.add(r)
        await session.flush()
        if tag:
            session.add(ResidentTag(resident_id=r.id or 0, tag=tag))
        return r.id or 0


async def _matched(db: SessionFactory, rulebook: Rulebook, title: str) -> set[int]:
    async with db() as session:
        village = await by_code(session, V1)
        matcher = await rulebook.current(session)
        item = Item(id=1, title=title, body="", publisher="镇政府", region_id=village.id or 0)
        _d, reasons = await find_matches(
            session, item, matcher=matcher, classifier=rulebook.classifier
        )
    return set(reasons)


async def test_an_office_topic_sends_items_with_its_keywords_to_its_subscribers(
    town: SessionFactory, jieba_cache: Path
) -> None:
    async with transaction(town) as session:
        topic = await create_topic(session, TopicIn("村级财务", ("村务公开", "财务公开")))
        group = await session.scalar(
            select(Rule.group_id).where(Rule.expression.contains("村务公开"))
        )
    assert group is not None
    rulebook = Rulebook(cache_dir=jieba_cache)
    assert group in await _matched(town, rulebook, "东山村2026年第三季度财务公开")
    assert group not in await _matched(town, rulebook, "东山村停水通知")
    async with transaction(town) as session:
        await set_topic_active(session, await session.get_one(Topic, topic.id), False)
    assert group not in await _matched(town, rulebook, "东山村2026年第三季度财务公开")


async def test_topics_refuse_bad_keywords_duplicates_and_retiring_built_ins(
    town: SessionFactory,
) -> None:
    async with transaction(town) as session:
        with pytest.raises(InvalidInput, match="关键词"):
            await create_topic(session, TopicIn("乡村振兴项目", ("a|b",)))
        with pytest.raises(Conflict):
            await create_topic(session, TopicIn("社会救助"))  # a built-in
        builtin = await session.scalar(select(Topic).where(Topic.builtin.is_(True)))
        assert builtin is not None
        with pytest.raises(Conflict, match="内置"):
            await set_topic_active(session, builtin, False)


async def test_a_bad_rule_is_refused_with_its_place(town: SessionFactory) -> None:
    async with transaction(town) as session:
        with pytest.raises(
            InvalidInput, match=re.escape("第 2 条规则有误：第 5 个字处：「|」后面缺少关键词")
        ):
            await create_group(
                session, GroupIn("低保", "tag", tag="低保户", rules=("低保", "低保 |"))
            )


async def test_preview_counts_members_by_village_and_channel(town: SessionFactory) -> None:
    await _resident(town, G1, wechat=True, sms=True, tag="老年人")
    await _resident(town, G1, wechat=False, sms=True, tag="老年人")
    await _resident(town, G2, wechat=False, sms=False, tag="老年人")
    await _resident(town, G2, wechat=True, sms=False)  # not tagged: not in the group
    async with transaction(town) as session:
        group = await create_group(session, GroupIn("老人", "tag", tag="老年人"))
        whole = await create_group(session, GroupIn("西河村全体", "region", region_code=V2))
    async with town() as session:
        seen = await preview(session, group)
        west = await preview(session, whole)
    assert seen == {
        "total": 3,
        "by_channel": {"wechat": 1, "sms": 1, "none": 1},
        "by_village": [
            {"village": "东山村", "total": 2, "by_channel": {"wechat": 1, "sms": 1}},
            {"village": "西河村", "total": 1, "by_channel": {"none": 1}},
        ],
    }
    assert west["total"] == 2


async def test_list_members_stay_within_the_callers_regions(town: SessionFactory) -> None:
    mine = await _resident(town, G1, wechat=True, sms=True)
    theirs = await _resident(town, G2, wechat=True, sms=True)
    async with transaction(town) as session:
        group = await create_group(session, GroupIn("走访名单", "list"))
        scope = frozenset({(await by_code(session, G1)).id or 0})
        with pytest.raises(InvalidInput, match="不在你负责"):
            await set_members(session, group, [mine, theirs], scope=scope)
        assert await set_members(session, group, [mine], scope=scope) == 1
        assert (await preview(session, group))["total"] == 1


KEY, NEW_KEY = str(uuid.uuid4()), str(uuid.uuid4())


async def _chat_with_waiting(db: SessionFactory) -> tuple[int, list[int]]:
    async with transaction(db) as session:
        chat = await create_chat(
            session,
            ChatIn(
                "东山村村民群", V1, f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}"
            ),
        )
        rows = [
            Delivery(push_id=n, group_chat_id=chat.id, channel="wecom", recipient=KEY, status=s)
            for n, s in enumerate((DeliveryStatus.QUEUED, DeliveryStatus.SENT), start=1)
        ]
        session.add_all(rows)
        await session.flush()
        return chat.id or 0, [r.id or 0 for r in rows]


async def test_a_new_robot_key_takes_the_waiting_messages(town: SessionFactory) -> None:
    chat_id, (waiting, sent) = await _chat_with_waiting(town)
    async with transaction(town) as session:
        chat = await session.get_one(GroupChat, chat_id)
        assert chat.robot_key == KEY  # the key out of the pasted webhook address
        assert KEY not in str(chat_json(chat))
        assert await update_chat(session, chat, ChatIn("东山村村民群", V1, NEW_KEY)) == 1
    async with town() as session:
        assert (await session.get_one(Delivery, waiting)).recipient == NEW_KEY
        assert (await session.get_one(Delivery, sent)).recipient == KEY


async def test_a_deactivated_chat_gets_nothing_more(town: SessionFactory) -> None:
    chat_id, (waiting, sent) = await _chat_with_waiting(town)
    async with transaction(town) as session:
        assert await set_chat_active(session, await session.get_one(GroupChat, chat_id), False) == 1
    async with town() as session:
        assert (await session.get_one(Delivery, waiting)).status == DeliveryStatus.CANCELLED
        assert (await session.get_one(Delivery, sent)).status == DeliveryStatus.SENT


async def test_a_chat_key_is_checked(town: SessionFactory) -> None:
    async with transaction(town) as session:
        with pytest.raises(InvalidInput, match="Webhook"):
            await create_chat(session, ChatIn("群", V1, "not a key!"))


@pytest.fixture
async def robots() -> AsyncIterator[tuple[WeComRobotChannel, wecom_emu.WeComEmulator]]:
    app = wecom_emu.build_app(keys={KEY}, per_minute=100)
    server = TestServer(app)
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        channel = WeComRobotChannel(
            WeComSettings(base_url=str(server.make_url("/")), msgtype="text"),
            session=http,
            limiter=MemoryRateLimiter(),
        )
        yield channel, app[wecom_emu.WECOM_EMULATOR]
    await server.close()


async def test_a_test_message_reaches_the_robot_or_says_why_not(
    town: SessionFactory, robots: tuple[WeComRobotChannel, wecom_emu.WeComEmulator]
) -> None:
    channel, emulator = robots
    good = GroupChat(name="东山村村民群", region_id=1, robot_key=KEY)
    ok, said = await send_test_message(channel, good)
    assert ok and "已发出" in said
    assert emulator.inbox.total() == 1
    bad = GroupChat(name="西河村村民群", region_id=1, robot_key=NEW_KEY)
    ok, said = await send_test_message(channel, bad)
    assert not ok and "93000" in said
    assert emulator.inbox.total() == 1


async def test_residents_see_active_topics_in_the_offices_order(town: SessionFactory) -> None:
    from pusher.residents.choices import topics

    resident = await _resident(town, G1, wechat=True, sms=False)
    async with transaction(town) as session:
        first = await create_topic(session, TopicIn("村级财务", ("财务公开",), position=-1))
        hidden = await create_topic(session, TopicIn("旧领域", ("旧",)))
        await set_topic_active(session, hidden, False)
    async with town() as session:
        names = [t.name for t, _on in await topics(session, resident)]
    assert names[0] == first.name and "旧领域" not in names and len(names) == 27
