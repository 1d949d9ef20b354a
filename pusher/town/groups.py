"""Groups: who a push goes to (a region, a topic's subscribers, a tag, a hand-kept list).

Created and edited with their keyword rules (checked as the rule editor checks them),
list members kept within the caller's regions, deactivated rather than deleted (pushes
refer to them). :func:`preview` counts who is in a group now, by village and channel,
with the same membership SQL planning uses.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.errors import Conflict, InvalidInput, NotFound
from pusher.models import (
    Group,
    GroupKind,
    GroupMember,
    Region,
    RegionKind,
    Resident,
    Rule,
    Topic,
    utcnow,
)
from pusher.town.regions import by_code, clean_name
from pusher.town.rule_text import check
from subscriptions.audience import Audience, residents_chunk

MAX_RULES = 20
MAX_RULE_CHARS = 2000
MAX_MEMBERS = 5000
MAX_TAG = 32
UNBOUNDED = 2**62


@dataclass(frozen=True)
class GroupIn:
    """A group as entered; which of region/topic/tag is used depends on ``kind``.

    ``rules`` None leaves the rules as they are; a tuple replaces them all.
    """

    name: str
    kind: str
    region_code: str | None = None
    topic_id: int | None = None
    tag: str | None = None
    rules: tuple[str, ...] | None = None


def clean_rules(texts: tuple[str, ...]) -> tuple[str, ...]:
    out = tuple(t.strip() for t in texts if t.strip())
    if len(out) > MAX_RULES:
        raise InvalidInput(f"一个推送对象最多 {MAX_RULES} 条规则。", field="rules")
    for n, text in enumerate(out, start=1):
        if len(text) > MAX_RULE_CHARS:
            raise InvalidInput(f"第 {n} 条规则超过 {MAX_RULE_CHARS} 字。", field="rules")
        verdict = check(text)
        if not verdict["ok"]:
            raise InvalidInput(f"第 {n} 条规则有误：{verdict['message']}", field="rules")
    return out


async def get_group(session: AsyncSession, group_id: int) -> Group:
    group = await session.get(Group, group_id)
    if group is None:
        raise NotFound("推送对象不存在。")
    return group


async def _target(session: AsyncSession, group: Group, data: GroupIn) -> None:
    """Set the group's region, topic or tag from ``data`` as its kind needs."""
    group.region_id, group.topic_id, group.tag = None, None, None
    if group.kind == GroupKind.REGION:
        if not data.region_code:
            raise InvalidInput("地区推送对象须选择地区。", field="region_code")
        group.region_id = (await by_code(session, data.region_code)).id
    elif group.kind == GroupKind.TOPIC:
        topic = await session.get(Topic, data.topic_id) if data.topic_id else None
        if topic is None:
            raise InvalidInput("订阅推送对象须选择领域。", field="topic_id")
        group.topic_id = topic.id
    elif group.kind == GroupKind.TAG:
        tag = (data.tag or "").strip()
        if not tag or len(tag) > MAX_TAG:
            raise InvalidInput(f"标签推送对象须填写标签（不超过 {MAX_TAG} 字）。", field="tag")
        group.tag = tag


async def create_group(session: AsyncSession, data: GroupIn) -> Group:
    try:
        kind = GroupKind(data.kind)
    except ValueError:
        raise InvalidInput("类型应为 region、topic、tag 或 list。", field="kind") from None
    name = clean_name(data.name)
    rules = clean_rules(data.rules or ())
    if await session.scalar(select(Group.id).where(Group.name == name)):
        raise Conflict(f"推送对象「{name}」已存在。")
    group = Group(name=name, kind=kind)
    await _target(session, group, data)
    session.add(group)
    await session.flush()
    await _set_rules(session, group, rules)
    return group


async def update_group(session: AsyncSession, group: Group, data: GroupIn) -> Group:
    """Rename, retarget and (when ``data.rules`` is given) replace the rules; kind stays."""
    if data.kind != group.kind:
        raise InvalidInput("推送对象的类型不能修改，请新建一个。", field="kind")
    name = clean_name(data.name)
    if name != group.name and await session.scalar(select(Group.id).where(Group.name == name)):
        raise Conflict(f"推送对象「{name}」已存在。")
    group.name = name
    await _target(session, group, data)
    if data.rules is not None:
        await _set_rules(session, group, clean_rules(data.rules))
    await session.flush()
    return group


async def _set_rules(session: AsyncSession, group: Group, texts: tuple[str, ...]) -> None:
    """Keep rules whose text is unchanged, disable the rest, add the new texts."""
    assert group.id is not None
    current = (
        await session.scalars(select(Rule).where(Rule.group_id == group.id, Rule.enabled.is_(True)))
    ).all()
    keep = set(texts)
    for rule in current:
        if rule.expression not in keep:
            rule.enabled, rule.updated_at = False, utcnow()
    have = {r.expression for r in current}
    session.add_all(Rule(group_id=group.id, expression=t) for t in texts if t not in have)
    await session.flush()


async def rules_of(session: AsyncSession, group_id: int) -> list[str]:
    rows = await session.scalars(
        select(Rule.expression)
        .where(Rule.group_id == group_id, Rule.enabled.is_(True))
        .order_by(Rule.id)
    )
    return list(rows.all())


async def set_group_active(session: AsyncSession, group: Group, active: bool) -> Group:
    """(De)activate; its rules' time moves so every rulebook recompiles without them."""
    group.active = active
    await session.execute(update(Rule).where(Rule.group_id == group.id).values(updated_at=utcnow()))
    await session.flush()
    return group


async def set_members(
    session: AsyncSession, group: Group, resident_ids: list[int], *, scope: frozenset[int] | None
) -> int:
    """Replace a list group's members by ``resident_ids`` (those outside ``scope`` are kept
    as they were and cannot be added); answers the member count."""
    if group.kind != GroupKind.LIST:
        raise InvalidInput("只有名单类推送对象可以设置成员。", field="members")
    wanted = set(resident_ids)
    if len(wanted) > MAX_MEMBERS:
        raise InvalidInput(f"名单最多 {MAX_MEMBERS} 人。", field="members")
    rows = await session.execute(
        select(Resident.id, Resident.region_id).where(Resident.id.in_(wanted))
    )
    found = {rid: region for rid, region in rows}
    outside = [r for r in wanted if r not in found or (scope is not None and found[r] not in scope)]
    if outside:
        raise InvalidInput(f"居民编号 {outside[:5]} 不存在或不在你负责的区域内。", field="members")
    mine = select(GroupMember.resident_id).where(GroupMember.group_id == group.id)
    if scope is not None:
        mine = mine.join(Resident, Resident.id == GroupMember.resident_id).where(
            Resident.region_id.in_(scope)
        )
    current = set((await session.scalars(mine)).all())
    gone = current - wanted
    if gone:
        await session.execute(
            delete(GroupMember).where(
                GroupMember.group_id == group.id, GroupMember.resident_id.in_(gone)
            )
        )
    session.add_all(GroupMember(group_id=group.id, resident_id=r) for r in wanted - current)
    await session.flush()
    total = select(func.count()).where(GroupMember.group_id == group.id)
    return int(await session.scalar(total) or 0)


async def members_of(session: AsyncSession, group_id: int, limit: int = 500) -> list[int]:
    rows = await session.scalars(
        select(GroupMember.resident_id)
        .where(GroupMember.group_id == group_id)
        .order_by(GroupMember.resident_id)
        .limit(limit)
    )
    return list(rows.all())


async def _audience(session: AsyncSession, group: Group) -> Audience:
    path = None
    if group.region_id is not None:
        path = await session.scalar(select(Region.path).where(Region.id == group.region_id))
    kind = group.kind
    return Audience(
        within_path="/",
        urgent=True,  # no topic opt-out filter: the preview counts membership
        region_paths=[path] if kind == GroupKind.REGION and path else [],
        topic_ids=[group.topic_id] if kind == GroupKind.TOPIC and group.topic_id else [],
        tags=[group.tag] if kind == GroupKind.TAG and group.tag else [],
        list_group_ids=[group.id] if kind == GroupKind.LIST and group.id else [],
    )


async def preview(
    session: AsyncSession, group: Group, *, scope: frozenset[int] | None = None
) -> dict[str, object]:
    """Who is in ``group`` now: the total, and counts by village and by channel."""
    audience = await _audience(session, group)
    if audience.empty:
        return {"total": 0, "by_channel": {}, "by_village": []}
    chunk = residents_chunk(audience, after_id=0, upto_id=UNBOUNDED).subquery()
    query = select(chunk.c.region_id, chunk.c.channel, func.count()).group_by(
        chunk.c.region_id, chunk.c.channel
    )
    if scope is not None:
        query = query.where(chunk.c.region_id.in_(scope))
    counts = (await session.execute(query)).all()
    villages = await _villages(session, {r for r, _, _ in counts})
    by_village: dict[str, Counter[str]] = {}
    by_channel: Counter[str] = Counter()
    for region_id, channel, n in counts:
        by_village.setdefault(villages.get(region_id, "其他"), Counter())[channel] += n
        by_channel[channel] += n
    return {
        "total": sum(by_channel.values()),
        "by_channel": dict(by_channel),
        "by_village": [
            {"village": v, "total": sum(c.values()), "by_channel": dict(c)}
            for v, c in sorted(by_village.items())
        ],
    }


async def _villages(session: AsyncSession, region_ids: set[int]) -> dict[int, str]:
    """Each region's village name (a grid's parent; a village itself)."""
    if not region_ids:
        return {}
    rows = (
        await session.execute(
            select(Region.id, Region.kind, Region.name, Region.parent_id).where(
                Region.id.in_(region_ids)
            )
        )
    ).all()
    parents = {p for _, kind, _, p in rows if kind == RegionKind.GRID and p}
    names: dict[int, str] = dict(
        (await session.execute(select(Region.id, Region.name).where(Region.id.in_(parents)))).all()
    )
    return {
        rid: names.get(p or 0, name) if kind == RegionKind.GRID else name
        for rid, kind, name, p in rows
    }


def group_json(group: Group, rules: list[str] | None = None) -> dict[str, object]:
    out: dict[str, object] = {
        "id": group.id,
        "name": group.name,
        "kind": group.kind,
        "region_id": group.region_id,
        "topic_id": group.topic_id,
        "tag": group.tag,
        "active": group.active,
    }
    if rules is not None:
        out["rules"] = rules
    return out
