"""Data lifecycle: old rows purged on a schedule, a resident's personal data erased on request.

``purge`` runs daily (the arq cron in production, the web process's sweeper in embedded
mode): it deletes delivery rows of finished pushes once they are older than the
retention period, sandbox messages older than theirs, parked receipts that expired
(no delivery ever claimed them) and old daily short-link counts, in chunks so no
transaction holds many locks for long. Items and pushes (with their planned counts)
stay, so the record of what was published stays complete.

``forget_resident`` removes what identifies a person (name, phone, openid, tags,
subscriptions, list memberships, the recipient address on their deliveries, the
sandbox copies of their messages, receipts parked for their messages or their number,
the record of CMPP submits to their number, and their
name in earlier audit rows) and writes an audit row saying who asked and why; that
row holds no personal data and is never purged. Short-link counts hold no personal
data (per item, village and day), so they need nothing.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from pusher.db import SessionFactory, rowcount, transaction
from pusher.errors import InvalidInput, NotFound
from pusher.models import AuditLog, DeliveryStatus, Resident, deliveries_of

log = logging.getLogger(__name__)
FORGOTTEN_NAME = "已删除"
FORGOTTEN_CODE = "resident_forgotten"
DEFAULT_CHUNK = 5000
MAX_REASON = 200
#: audit detail keys that may name a person (e.g. ``resident.save`` records the name)
PERSONAL_KEYS = frozenset({"name", "phone", "openid", "recipient"})


@dataclass(frozen=True, slots=True)
class Retention:
    """How long each kind of row is kept (≤ 0: for ever)."""

    delivery_days: int
    sandbox_days: int
    parked_receipt_hours: int = 0
    link_open_days: int = 0


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """How many rows one purge removed."""

    deliveries: int
    sandbox_messages: int
    parked_receipts: int = 0
    link_opens: int = 0


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


def _expired(keep: Retention, now: datetime) -> dict[str, ColumnElement[bool] | None]:
    """Per table, the rows past their retention (None: that table is kept)."""
    t = SQLModel.metadata.tables
    d, p, s = t["delivery"].c, t["push"].c, t["sandbox_message"].c
    pending, opens = t["pending_receipt"].c, t["link_open_day"].c
    finished = select(p.id).where(p.status == "done")
    old_delivery = (d.created_at < now - timedelta(days=keep.delivery_days)) & d.push_id.in_(
        finished
    )
    return {
        "delivery": old_delivery if keep.delivery_days > 0 else None,
        "sandbox_message": s.at < now - timedelta(days=keep.sandbox_days)
        if keep.sandbox_days > 0
        else None,
        "pending_receipt": pending.received_at < now - timedelta(hours=keep.parked_receipt_hours)
        if keep.parked_receipt_hours > 0
        else None,
        "link_open_day": opens.day < (now - timedelta(days=keep.link_open_days)).date()
        if keep.link_open_days > 0
        else None,
    }


async def purge(
    db: SessionFactory,
    *,
    now: datetime,
    delivery_days: int,
    sandbox_days: int,
    parked_receipt_hours: int = 0,
    link_open_days: int = 0,
    chunk: int = DEFAULT_CHUNK,
) -> PurgeReport:
    """Delete rows past their retention: old deliveries of finished pushes, old sandbox
    messages, expired parked receipts, old short-link counts (a period ≤ 0: keep)."""
    keep = Retention(delivery_days, sandbox_days, parked_receipt_hours, link_open_days)
    removed = {
        name: await _delete_chunks(db, name, where, chunk) if where is not None else 0
        for name, where in _expired(keep, now).items()
    }
    report = PurgeReport(
        deliveries=removed["delivery"],
        sandbox_messages=removed["sandbox_message"],
        parked_receipts=removed["pending_receipt"],
        link_opens=removed["link_open_day"],
    )
    log.info("purged old rows", extra=asdict(report))
    return report


def erasure_reason(raw: object) -> str:
    """The reason given for an erasure, trimmed; refused when missing or too long."""
    reason = raw.strip() if isinstance(raw, str) else ""
    if not reason:
        raise InvalidInput("请填写删除原因（如：本人申请及申请日期）", field="reason")
    if len(reason) > MAX_REASON or any(ord(c) < 32 for c in reason):
        raise InvalidInput(f"删除原因应为一行文字，不超过 {MAX_REASON} 字", field="reason")
    return reason


async def forget_resident(
    db: SessionFactory, resident_id: int, *, actor: str, reason: str = "", via: str = ""
) -> dict[str, int]:
    """Erase resident ``resident_id``'s personal data and record who asked for it and why
    (``via``: console, api or cli). Returns the rows changed per table."""
    async with transaction(db) as session:
        resident = await session.get(Resident, resident_id, with_for_update=True)
        if resident is None:
            raise NotFound(f"居民 {resident_id} 不存在", field="resident_id")
        addresses = [a for a in (resident.phone, resident.openid) if a]
        counts = await _erase_links(session, resident_id, addresses)
        counts |= await forget_wechat_side(session, resident_id, addresses)
        counts["audit_scrubbed"] = await _scrub_audit(session, resident_id)
        resident.name = FORGOTTEN_NAME
        resident.phone = None
        resident.openid = None
        resident.stable_key = None  # 身份证后四位 and the like are personal data too
        resident.wechat_follows = False
        resident.sms_consent = False
        detail: dict[str, object] = {**counts, "reason": reason[:MAX_REASON], "via": via}
        target = f"resident:{resident_id}"
        session.add(AuditLog(actor=actor, action="resident.forget", target=target, detail=detail))
    log.info("resident forgotten", extra={"resident_id": resident_id, "actor": actor, **counts})
    return counts


async def _erase_links(
    session: AsyncSession, resident_id: int, addresses: list[str]
) -> dict[str, int]:
    """Delete tags, subscriptions, memberships, sandbox copies and parked receipts of the
    resident's messages; blank delivery addresses."""
    tables = SQLModel.metadata.tables
    counts: dict[str, int] = {}
    for name in ("resident_tag", "subscription", "group_member"):
        table = tables[name]
        counts[name] = rowcount(
            await session.execute(delete(table).where(table.c.resident_id == resident_id))
        )
    delivery = tables["delivery"]
    d = delivery.c
    # the sandbox copies of their messages, also those sent to an address since corrected
    sent = select(d.provider_id).where(deliveries_of([resident_id]), d.provider_id.is_not(None))
    sandbox, pending = tables["sandbox_message"], tables["pending_receipt"]
    counts["sandbox_message"] = rowcount(
        await session.execute(
            delete(sandbox).where(
                sandbox.c.recipient.in_(addresses) | sandbox.c.provider_id.in_(sent)
            )
        )
    )
    # and CMPP reports parked under their number, and the record of CMPP submits to it
    parked = pending.c.provider_id.in_(sent) | pending.c.recipient.in_(addresses)
    counts["pending_receipt"] = rowcount(await session.execute(delete(pending).where(parked)))
    submits = tables["cmpp_submit"]
    counts["cmpp_submit"] = rowcount(
        await session.execute(delete(submits).where(submits.c.phone.in_(addresses)))
    )
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


async def forget_wechat_side(
    session: AsyncSession, resident_id: int, addresses: list[str]
) -> dict[str, int]:
    """Delete the resident's bindings, codes sent to their number and messages they wrote,
    and their follower record unless the openid still reaches someone else (代收)."""
    tables = SQLModel.metadata.tables
    binding, code = tables["wx_binding"], tables["verify_code"]
    message, follower = tables["resident_message"], tables["wx_follower"]
    residents = tables["resident"].c
    others = select(residents.id).where(
        residents.openid.in_(addresses), residents.id != resident_id
    )
    alone = ~others.exists()  # their openid reaches nobody else (not a child's, 代收)
    ours = (binding.c.resident_id == resident_id) | binding.c.phone.in_(addresses)
    counts = {"wx_binding": rowcount(await session.execute(delete(binding).where(ours)))}
    counts["verify_code"] = rowcount(
        await session.execute(delete(code).where(code.c.phone.in_(addresses)))
    )
    by_sender = message.c.sender.in_(addresses) & ((message.c.channel == "sms") | alone)
    theirs = (message.c.resident_id == resident_id) | by_sender
    counts["resident_message"] = rowcount(await session.execute(delete(message).where(theirs)))
    lone = follower.c.openid.in_(addresses) & alone
    counts["wx_follower"] = rowcount(await session.execute(delete(follower).where(lone)))
    return counts


async def _scrub_audit(session: AsyncSession, resident_id: int) -> int:
    """Drop names and addresses from earlier audit rows about this resident (the rows stay:
    who did what when is the office's record, the person's name is not needed in it)."""
    rows = await session.scalars(
        select(AuditLog).where(col(AuditLog.target) == f"resident:{resident_id}")
    )
    scrubbed = 0
    for row in rows:
        if PERSONAL_KEYS & row.detail.keys():
            row.detail = {k: v for k, v in row.detail.items() if k not in PERSONAL_KEYS}
            scrubbed += 1
    return scrubbed
