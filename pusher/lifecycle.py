"""Data lifecycle: old rows purged on a schedule, a resident's personal data erased on request.

``purge`` runs from a cron job: it deletes delivery rows of finished pushes once
they are older than the retention period, and sandbox messages older than theirs,
in chunks so no transaction holds many locks for long. Items and pushes (with
their planned counts) stay, so the record of what was published stays complete.

``forget_resident`` removes what identifies a person (name, phone, openid, tags,
subscriptions, list memberships, the recipient address on their deliveries and
the sandbox copies of their messages) and writes an audit row saying who asked;
the audit row holds no personal data and is never purged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from pusher.db import SessionFactory, rowcount, transaction
from pusher.errors import NotFound
from pusher.models import AuditLog, DeliveryStatus, Resident, deliveries_of

log = logging.getLogger(__name__)
FORGOTTEN_NAME = "已删除"
FORGOTTEN_CODE = "resident_forgotten"
DEFAULT_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """How many rows one purge removed."""

    deliveries: int
    sandbox_messages: int


async def _delete_chunks(
    db: SessionFactory, table_name: str, where: ColumnElement[bool], chunk: int
) -> int:
    """Delete the rows of ``table_name`` matching ``where``, ``chunk`` ids per transaction."""
    table = SQLModel.metadata.tables[table_name]
    total = 0
    while True:
        async with transaction(db) as session:
            ids = select(table.c.id).where(where).order_by(table.c.id).limit(chunk)
            removed = rowcount(
                await session.execute(delete(table).where(table.c.id.in_(ids.scalar_subquery())))
            )
        total += removed
        if removed < chunk:
            return total


async def purge(
    db: SessionFactory,
    *,
    now: datetime,
    delivery_days: int,
    sandbox_days: int,
    chunk: int = DEFAULT_CHUNK,
) -> PurgeReport:
    """Delete old deliveries of finished pushes and old sandbox messages (days ≤ 0: keep)."""
    tables = SQLModel.metadata.tables
    d, p, s = tables["delivery"].c, tables["push"].c, tables["sandbox_message"].c
    deliveries = sandbox = 0
    if delivery_days > 0:
        finished = select(p.id).where(p.status == "done")
        where = (d.created_at < now - timedelta(days=delivery_days)) & d.push_id.in_(finished)
        deliveries = await _delete_chunks(db, "delivery", where, chunk)
    if sandbox_days > 0:
        sandbox = await _delete_chunks(
            db, "sandbox_message", s.at < now - timedelta(days=sandbox_days), chunk
        )
    report = PurgeReport(deliveries=deliveries, sandbox_messages=sandbox)
    log.info("purged old rows", extra={"deliveries": deliveries, "sandbox_messages": sandbox})
    return report


async def forget_resident(db: SessionFactory, resident_id: int, *, actor: str) -> None:
    """Erase resident ``resident_id``'s personal data and record who asked for it."""
    async with transaction(db) as session:
        resident = await session.get(Resident, resident_id, with_for_update=True)
        if resident is None:
            raise NotFound(f"居民 {resident_id} 不存在", field="resident_id")
        addresses = [a for a in (resident.phone, resident.openid) if a]
        counts = await _erase_links(session, resident_id, addresses)
        resident.name = FORGOTTEN_NAME
        resident.phone = None
        resident.openid = None
        resident.wechat_follows = False
        resident.sms_consent = False
        session.add(
            AuditLog(
                actor=actor,
                action="resident.forget",
                target=f"resident:{resident_id}",
                detail=counts,
            )
        )
    log.info("resident forgotten", extra={"resident_id": resident_id, "actor": actor, **counts})


async def _erase_links(
    session: AsyncSession, resident_id: int, addresses: list[str]
) -> dict[str, int]:
    """Delete tags, subscriptions, memberships and sandbox copies; blank delivery addresses."""
    tables = SQLModel.metadata.tables
    counts: dict[str, int] = {}
    for name in ("resident_tag", "subscription", "group_member"):
        table = tables[name]
        counts[name] = rowcount(
            await session.execute(delete(table).where(table.c.resident_id == resident_id))
        )
    sandbox = tables["sandbox_message"]
    counts["sandbox_message"] = rowcount(
        await session.execute(delete(sandbox).where(sandbox.c.recipient.in_(addresses)))
    )
    delivery = tables["delivery"]
    d = delivery.c
    counts["cancelled"] = rowcount(
        await session.execute(
            update(delivery)
            .where(
                deliveries_of([resident_id]),
                d.status.in_([DeliveryStatus.QUEUED.value, DeliveryStatus.SENDING.value]),
            )
            .values(
                status=DeliveryStatus.FAILED.value,
                error_code=FORGOTTEN_CODE,
                error_message="居民要求删除个人信息",
                claimed_by=None,
                lease_until=None,
            )
        )
    )
    counts["deliveries"] = rowcount(
        await session.execute(
            update(delivery).where(deliveries_of([resident_id])).values(recipient=None)
        )
    )
    return counts
