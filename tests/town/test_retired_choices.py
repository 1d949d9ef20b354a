"""What is deactivated is no longer offered: a retired region gets no new items in the
item form, and a deactivated topic cannot be joined by a WeChat reply (only left)."""

from __future__ import annotations

from channels.base import Inbound
from pusher.console.itemform import choices
from pusher.db import SessionFactory, transaction
from pusher.models import Item, Resident
from pusher.residents.inbound import _topic_command
from pusher.settings import Settings
from pusher.town.region_import import import_regions
from pusher.town.regions import by_code, retire_region
from pusher.town.topics import TopicIn, create_topic, set_topic_active

ROWS = [
    {"代码": "360123101000", "名称": "青山镇", "上级代码": ""},
    {"代码": "360123101001", "名称": "东山村", "上级代码": "360123101000"},
    {"代码": "360123101002", "名称": "西河村", "上级代码": "360123101000"},
]


async def test_a_retired_region_and_topic_leave_the_item_form(db: SessionFactory) -> None:
    async with transaction(db) as session:
        await import_regions(session, ROWS)
        west = await by_code(session, "360123101002")
        session.add(Item(title="旧通知", body="", publisher="镇", region_id=west.id or 0))
        await session.flush()
        assert await retire_region(session, west, "并村") == "deactivated"
        old = await create_topic(session, TopicIn("旧领域"))
        await set_topic_active(session, old, False)
    async with db() as session:
        offered = await choices(session)
    codes = [code for code, _label in offered["regions"]]
    assert "360123101001" in codes and "360123101002" not in codes
    assert "旧领域" not in offered["topics"] and "社会救助" in offered["topics"]


async def test_a_deactivated_topic_cannot_be_joined_by_reply(db: SessionFactory) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    async with transaction(db) as session:
        await import_regions(session, ROWS)
        topic = await create_topic(session, TopicIn("村级财务"))
        await set_topic_active(session, topic, False)
        east = await by_code(session, "360123101001")
        session.add(Resident(name="张三", region_id=east.id or 0))
    async with transaction(db) as session:
        join = await _topic_command(session, Inbound("text", "o-someone", "村级财务"), settings)
        leave = await _topic_command(
            session, Inbound("text", "o-someone", "退订村级财务"), settings
        )
    assert join is None  # not a command: a message for the grid worker
    assert leave is not None
