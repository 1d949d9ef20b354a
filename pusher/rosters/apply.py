"""Write a compared roster: new residents, changed ones, and confirmed moves out (迁出).

The caller owns the transaction. Changed residents whose phone, openid or consent
changed have their waiting messages follow (:func:`follow_resident`); a resident
confirmed as moved out keeps their record and history, is never pushed to again, and
their waiting messages are cancelled.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.audit import record
from pusher.models import (
    Delivery,
    DeliveryStatus,
    Resident,
    ResidentTag,
    Subscription,
    deliveries_of,
    utcnow,
)
from pusher.pipeline.readdress import follow_resident
from pusher.rosters.compare import Planned
from pusher.rosters.records import OnRecord

D = Delivery.__table__.c
ADDRESSES = frozenset({"手机号", "微信", "同意短信"})


def _values(p: Planned) -> dict[str, object]:
    row = p.row
    values: dict[str, object] = {
        "name": row.name,
        "region_id": p.region_id,
        "phone": row.phone,
        "sms_consent": p.consent,
        "moved_out_at": None,
    }
    if row.key is not None:
        values["stable_key"] = row.key
    if row.openid is not None:
        values["openid"] = row.openid
        values["wechat_follows"] = True
    return values


async def apply_rows(
    session: AsyncSession, planned: Sequence[Planned], topics: dict[str, int], *, actor: str
) -> list[int]:
    """Add and update the residents of ``planned``; returns their ids (in that order)."""
    adds = [p for p in planned if p.resident is None]
    changes = [p for p in planned if p.resident is not None]
    new_ids = await _insert(session, adds)
    for p in changes:
        assert p.resident is not None
        await session.execute(
            update(Resident).where(Resident.id == p.resident.id).values(**_values(p))
        )
    people = [(rid, p) for rid, p in zip(new_ids, adds, strict=True)]
    people += [(p.resident.id, p) for p in changes if p.resident is not None]
    await _tags(session, people)
    await _topics(session, people, topics)
    await _follow(session, [p.resident for p in changes if p.resident is not None])
    if planned:
        detail = {"added": len(adds), "changed": len(changes)}
        record(session, actor=actor, action="residents.import", detail=detail)
    return [rid for rid, _ in people]


async def _insert(session: AsyncSession, adds: Sequence[Planned]) -> list[int]:
    if not adds:
        return []
    rows = [
        {"wechat_follows": False, "openid": None, "stable_key": None}
        | _values(p)
        | {"wechat_opt_out": False, "sms_opt_out": False, "created_at": utcnow()}
        for p in adds
    ]
    result = await session.execute(
        insert(Resident).returning(Resident.id, sort_by_parameter_order=True), rows
    )
    return [int(rid) for rid in result.scalars()]


async def _tags(session: AsyncSession, people: list[tuple[int, Planned]]) -> None:
    ids = [rid for rid, _ in people]
    if not ids:
        return
    await session.execute(delete(ResidentTag).where(ResidentTag.resident_id.in_(ids)))
    tags = [{"resident_id": rid, "tag": t} for rid, p in people for t in p.row.tags]
    if tags:
        await session.execute(insert(ResidentTag), tags)


async def _topics(
    session: AsyncSession, people: list[tuple[int, Planned]], topics: dict[str, int]
) -> None:
    """Subscriptions as the 订阅 column says (a file without the column leaves them).

    A topic the file leaves out is unsubscribed by removing the subscription, so
    ``opted_out`` stays the mark of a resident's own (or a form's explicit) unsubscribe,
    which the roster never undoes: a resident who left a topic is not put back on it
    by a list kept in an office.
    """
    chosen = {
        rid: {topics[t] for t in p.row.topics} for rid, p in people if p.row.topics is not None
    }
    if not chosen:
        return
    subs = await session.execute(
        select(Subscription.resident_id, Subscription.topic_id, Subscription.opted_out).where(
            Subscription.resident_id.in_(list(chosen))
        )
    )
    have = {(rid, tid): out for rid, tid, out in subs}
    for (rid, tid), out in have.items():
        if not out and tid not in chosen[rid]:  # left out of the file: unsubscribed
            await session.execute(
                delete(Subscription).where(
                    and_(Subscription.resident_id == rid, Subscription.topic_id == tid)
                )
            )
    new = [
        {"resident_id": rid, "topic_id": tid, "opted_out": False}
        for rid, tids in chosen.items()
        for tid in tids
        if (rid, tid) not in have
    ]
    if new:
        await session.execute(insert(Subscription), new)


async def _follow(session: AsyncSession, changed: Sequence[OnRecord]) -> None:
    if not changed:
        return
    now = utcnow()
    ids = [p.id for p in changed]
    for resident in await session.scalars(select(Resident).where(Resident.id.in_(ids))):
        await follow_resident(session, resident, now)


async def move_out(
    session: AsyncSession,
    ids: Collection[int],
    *,
    scope: Collection[int] | None,
    actor: str,
    reason: str = "迁出",
    now: datetime | None = None,
) -> list[int]:
    """Mark residents ``ids`` (inside ``scope``) as moved out and cancel their waiting
    messages; returns the ids marked. Already moved-out residents are left as they are."""
    when = now or utcnow()
    query = select(Resident.id).where(Resident.id.in_(list(ids)), Resident.moved_out_at.is_(None))
    if scope is not None:
        query = query.where(Resident.region_id.in_(list(scope) or [-1]))
    marked = [int(rid) for rid in await session.scalars(query)]
    if not marked:
        return []
    await session.execute(update(Resident).where(Resident.id.in_(marked)).values(moved_out_at=when))
    await session.execute(
        update(Delivery.__table__)
        .where(deliveries_of(marked), D.status == DeliveryStatus.QUEUED.value)
        .values(status=DeliveryStatus.CANCELLED.value, error_code="moved_out", done_at=when)
    )
    record(
        session, actor=actor, action="residents.move_out", detail={"ids": marked, "reason": reason}
    )
    return marked
