"""Topics: the 26 built-in domains stay; the office adds its own, with keywords.

An office topic gets a topic group (订阅：name) whose rule is its keywords joined by
``|``, so an item mentioning one of them reaches the topic's subscribers. Deactivating a
topic hides it from residents and turns its group and rules off; built-ins can be
reordered but not renamed or deactivated (they are the catalogue's domains).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.errors import Conflict, InvalidInput, NotFound
from pusher.models import Group, GroupKind, Rule, Topic, utcnow
from pusher.town.groups import set_group_active
from pusher.town.regions import clean_name

MAX_KEYWORDS = 30
KEYWORD = re.compile(r"^[\w\u3400-\u9fff·（）()-]{1,20}$")
SPLIT = re.compile(r"[、,，;；\s|]+")
GROUP_PREFIX = "订阅："


@dataclass(frozen=True)
class TopicIn:
    name: str
    keywords: tuple[str, ...] = ()
    position: int = 0


def clean_keywords(raw: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    words = SPLIT.split(raw) if isinstance(raw, str) else [str(w) for w in raw]
    out = tuple(dict.fromkeys(w.strip() for w in words if w.strip()))
    if len(out) > MAX_KEYWORDS:
        raise InvalidInput(f"关键词最多 {MAX_KEYWORDS} 个。", field="keywords")
    for word in out:
        if not KEYWORD.match(word) or word.isdigit():
            raise InvalidInput(
                f"关键词「{word[:20]}」只能是 1～20 个汉字、字母或数字。", field="keywords"
            )
    return out


def _expression(keywords: tuple[str, ...]) -> str:
    return " | ".join(f'"{w}"' if not w.isalnum() else w for w in keywords)


async def get_topic(session: AsyncSession, topic_id: int) -> Topic:
    topic = await session.get(Topic, topic_id)
    if topic is None:
        raise NotFound("领域不存在。")
    return topic


async def topic_group(session: AsyncSession, topic: Topic) -> Group | None:
    return await session.scalar(
        select(Group).where(Group.kind == GroupKind.TOPIC, Group.topic_id == topic.id)
    )


async def create_topic(session: AsyncSession, data: TopicIn) -> Topic:
    name = clean_name(data.name)
    keywords = clean_keywords(data.keywords)
    if await session.scalar(select(Topic.id).where(Topic.name == name)):
        raise Conflict(f"领域「{name}」已存在。")
    group_name = f"{GROUP_PREFIX}{name}"[:64]
    if await session.scalar(select(Group.id).where(Group.name == group_name)):
        raise Conflict(f"推送对象「{group_name}」已存在。")
    topic = Topic(name=name, builtin=False, keywords=list(keywords), position=data.position)
    session.add(topic)
    await session.flush()
    group = Group(name=group_name, kind=GroupKind.TOPIC, topic_id=topic.id)
    session.add(group)
    await session.flush()
    if keywords:
        assert group.id is not None
        session.add(Rule(group_id=group.id, expression=_expression(keywords)))
    await session.flush()
    return topic


async def update_topic(session: AsyncSession, topic: Topic, data: TopicIn) -> Topic:
    """Rename (office topics), set keywords (office topics) and position (any)."""
    topic.position = data.position
    if topic.builtin:
        if clean_name(data.name) != topic.name or data.keywords:
            raise InvalidInput("内置领域不能改名或设关键词，只能调整顺序。", field="name")
        await session.flush()
        return topic
    name = clean_name(data.name)
    if name != topic.name and await session.scalar(select(Topic.id).where(Topic.name == name)):
        raise Conflict(f"领域「{name}」已存在。")
    topic.name = name
    topic.keywords = list(clean_keywords(data.keywords))
    group = await topic_group(session, topic)
    if group is not None and group.id is not None:
        await _replace_rule(session, group.id, tuple(topic.keywords))
    await session.flush()
    return topic


async def _replace_rule(session: AsyncSession, group_id: int, keywords: tuple[str, ...]) -> None:
    await session.execute(
        update(Rule)
        .where(Rule.group_id == group_id, Rule.enabled.is_(True))
        .values(enabled=False, updated_at=utcnow())
    )
    if keywords:
        session.add(Rule(group_id=group_id, expression=_expression(keywords)))


async def set_topic_active(session: AsyncSession, topic: Topic, active: bool) -> Topic:
    """Deactivate (or bring back) an office topic with its group and keyword rule."""
    if topic.builtin and not active:
        raise Conflict("内置领域不能停用。")
    topic.active = active
    group = await topic_group(session, topic)
    if group is not None:
        await set_group_active(session, group, active)
    await session.flush()
    return topic


def topic_json(topic: Topic) -> dict[str, object]:
    return {
        "id": topic.id,
        "name": topic.name,
        "builtin": topic.builtin,
        "active": topic.active,
        "keywords": list(topic.keywords or []),
        "position": topic.position,
    }
