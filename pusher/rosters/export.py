"""A roster download in the columns an upload reads, so download → edit → upload is a
loop that changes nothing when nothing was edited."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.models import Region, Resident, ResidentTag, Subscription, Topic
from pusher.rosters.records import load_grids

CHUNK = 1000
HEADER = (
    "姓名", "手机号", "所属网格", "身份证后四位", "标签", "订阅", "同意短信", "微信",
    "短信退订", "公众号退订",
)  # fmt: skip
COLUMNS = (
    Resident.id, Resident.name, Resident.phone, Resident.region_id, Resident.stable_key,
    Resident.sms_consent, Resident.openid, Resident.sms_opt_out, Resident.wechat_opt_out,
)  # fmt: skip


async def fetch_all(session: AsyncSession, query: Any) -> list[Any]:
    """All rows of ``query``, read in partitions with the event loop let through."""
    out: list[Any] = []
    result = await session.stream(query.execution_options(yield_per=CHUNK))
    async for part in result.partitions():
        out.extend(part)
        await asyncio.sleep(0)
    return out


def _listing(scope: Collection[int] | None) -> Any:
    query = (
        select(*COLUMNS)
        .join(Region, Region.id == Resident.region_id)
        .where(Resident.moved_out_at.is_(None))
        .order_by(Region.path, Resident.id)
    )
    if scope is not None:
        query = query.where(Resident.region_id.in_(list(scope) or [-1]))
    return query


async def _many(session: AsyncSession, query: Any) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for rid, value in await fetch_all(session, query):
        out.setdefault(rid, []).append(value)
    return out


async def roster_rows(
    session: AsyncSession,
    scope: Collection[int] | None,
    *,
    phone: Callable[[str | None], str] = lambda p: p or "",
) -> tuple[int, Iterator[list[str]]]:
    """How many residents in ``scope`` have not moved out, and their roster rows (loaded
    here, built lazily: the generator touches no database and may run in a thread)."""
    listing = _listing(scope)
    rows = await fetch_all(session, listing)
    ids = select(listing.subquery().c.id)
    tags = await _many(
        session,
        select(ResidentTag.resident_id, ResidentTag.tag)
        .where(ResidentTag.resident_id.in_(ids))
        .order_by(ResidentTag.resident_id, ResidentTag.tag),
    )
    topics = await _many(
        session,
        select(Subscription.resident_id, Topic.name)
        .join(Topic, Topic.id == Subscription.topic_id)
        .where(Subscription.resident_id.in_(ids), Subscription.opted_out.is_(False))
        .order_by(Subscription.resident_id, Topic.id),
    )
    grids = await load_grids(session)
    label = {
        rid: name if len(grids.by_name[name]) == 1 else code
        for code, rid in grids.by_code.items()
        for name in (grids.names[rid],)
    }
    return len(rows), (
        [
            r.name,
            phone(r.phone),
            label.get(r.region_id, ""),
            r.stable_key or "",
            "、".join(tags.get(r.id, [])),
            "、".join(topics.get(r.id, [])),
            "是" if r.sms_consent else "否",
            r.openid or "",
            "是" if r.sms_opt_out else "",
            "是" if r.wechat_opt_out else "",
        ]
        for r in rows
    )
