"""Residents on record as a roster compares them: plain values, loaded grid by grid."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.models import Region, RegionKind, Resident, ResidentTag, Subscription, Topic


@dataclass
class OnRecord:
    id: int
    name: str
    phone: str | None
    region_id: int
    key: str | None
    openid: str | None
    consent: bool
    moved_out: bool
    tags: set[str] = field(default_factory=set)
    topics: set[str] = field(default_factory=set)
    #: topics the resident unsubscribed from: a roster never subscribes them again
    opted_out: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Grids:
    """The town's active grids by code and by name (a name may be shared), the names of
    all grids, and the retired (deactivated) grids by code and by name: a row naming one
    is an error that says so."""

    by_code: dict[str, int]
    by_name: dict[str, list[int]]
    names: dict[int, str]
    retired: dict[str, str] = field(default_factory=dict)  # code or name → name


async def load_grids(session: AsyncSession) -> Grids:
    rows = await session.execute(
        select(Region.id, Region.code, Region.name, Region.active).where(
            Region.kind == RegionKind.GRID
        )
    )
    by_code: dict[str, int] = {}
    by_name: dict[str, list[int]] = {}
    names: dict[int, str] = {}
    retired: dict[str, str] = {}
    for rid, code, name, active in rows:
        names[rid] = name
        if not active:
            retired[code] = retired[name] = name
            continue
        by_code[code] = rid
        by_name.setdefault(name, []).append(rid)
    return Grids(by_code, by_name, names, retired)


async def load_topics(session: AsyncSession) -> dict[str, int]:
    return {name: tid for tid, name in await session.execute(select(Topic.id, Topic.name))}


async def load_residents(session: AsyncSession, grid_ids: Collection[int]) -> list[OnRecord]:
    """Everyone on record in ``grid_ids`` (moved-out residents too: a file may name them)."""
    if not grid_ids:
        return []
    grids = list(grid_ids)
    people = {
        r.id: OnRecord(
            r.id,
            r.name,
            r.phone,
            r.region_id,
            r.stable_key,
            r.openid,
            r.sms_consent,
            r.moved_out_at is not None,
        )
        for r in await session.execute(
            select(
                Resident.id,
                Resident.name,
                Resident.phone,
                Resident.region_id,
                Resident.stable_key,
                Resident.openid,
                Resident.sms_consent,
                Resident.moved_out_at,
            ).where(Resident.region_id.in_(grids))
        )
    }
    in_grids = select(Resident.id).where(Resident.region_id.in_(grids))
    for rid, tag in await session.execute(
        select(ResidentTag.resident_id, ResidentTag.tag).where(
            ResidentTag.resident_id.in_(in_grids)
        )
    ):
        people[rid].tags.add(tag)
    for rid, name, out in await session.execute(
        select(Subscription.resident_id, Topic.name, Subscription.opted_out)
        .join(Topic, Topic.id == Subscription.topic_id)
        .where(Subscription.resident_id.in_(in_grids))
    ):
        (people[rid].opted_out if out else people[rid].topics).add(name)
    return sorted(people.values(), key=lambda p: p.id)
