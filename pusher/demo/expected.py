"""Who should receive a demo item, worked out in Python from the rows themselves.

This is a second, independent statement of the audience rules (see
:mod:`subscriptions.audience`), used by ``pusher demo --check`` to prove that
every expected delivery was recorded and no other.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.models import (
    Group,
    GroupMember,
    Item,
    ItemMatch,
    Region,
    Resident,
    ResidentTag,
    Subscription,
    Topic,
)
from pusher.pipeline.review import pushable


async def expected_audience(session: AsyncSession, item: Item) -> set[int]:
    """Resident ids that should have a delivery row for ``item``."""
    if not pushable(item):
        return set()
    paths: dict[int, str] = {i: p for i, p in await session.execute(select(Region.id, Region.path))}
    within = paths[item.region_id]
    residents = {
        rid: paths[region_id]
        for rid, region_id in await session.execute(select(Resident.id, Resident.region_id))
        if paths[region_id].startswith(within)
    }
    group_ids = set(
        await session.scalars(select(ItemMatch.group_id).where(ItemMatch.item_id == item.id))
    )
    members: set[int] = set()
    for group in await session.scalars(select(Group)):
        if group.id in group_ids:
            members |= await _members(session, group, residents, paths)
    return members - await _opted_out(session, item) if item.urgency != "urgent" else members


async def _members(
    session: AsyncSession, group: Group, residents: dict[int, str], paths: dict[int, str]
) -> set[int]:
    if group.kind == "region" and group.region_id is not None:
        prefix = paths[group.region_id]
        return {rid for rid, path in residents.items() if path.startswith(prefix)}
    if group.kind == "topic":
        subs = await session.execute(
            select(Subscription.resident_id, Subscription.opted_out).where(
                Subscription.topic_id == group.topic_id
            )
        )
        return {rid for rid, out in subs if not out and rid in residents}
    if group.kind == "tag":
        tagged = await session.scalars(
            select(ResidentTag.resident_id).where(ResidentTag.tag == group.tag)
        )
        return {rid for rid in tagged if rid in residents}
    listed = await session.scalars(
        select(GroupMember.resident_id).where(GroupMember.group_id == group.id)
    )
    return {rid for rid in listed if rid in residents}


async def _opted_out(session: AsyncSession, item: Item) -> set[int]:
    topics = set(await session.scalars(select(Topic.id).where(Topic.name.in_(item.domains))))
    rows = await session.execute(
        select(Subscription.resident_id, Subscription.topic_id, Subscription.opted_out)
    )
    return {rid for rid, tid, out in rows if out and tid in topics}
