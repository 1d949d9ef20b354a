"""Receipts: providers' delivery reports and residents' opt-outs, applied to the record.

Applying the same receipt twice changes nothing (a delivered row stays
delivered; a confirmed-in-person row is never overwritten). A receipt that
arrives before the worker wrote the provider id is parked and applied when the
id is written. Parking is bounded (anyone who knows a callback URL can post receipts
for ids we never sent): a parked receipt expires after ``Parking.hours`` (the retention
purge deletes it), and beyond ``Parking.cap`` unexpired ones per provider new unknown
receipts are dropped and counted. A failed WeChat receipt falls back to SMS where the resident
consented. Opt-outs take effect at once: queued messages on that channel are
cancelled and no later planning picks the channel for that resident.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from channels import registry
from channels.base import CallbackBatch, ChannelKind, OptOut, Receipt
from channels.descriptor import ReceiptSink
from pusher.db import SessionFactory, transaction
from pusher.models import Delivery, DeliveryStatus, PendingReceipt, Resident, utcnow
from pusher.pipeline.bulk import one_of, rows_table
from pusher.pipeline.outcomes import fall_back_to_sms
from pusher.pipeline.readdress import follow_resident

DT = Delivery.__table__
D = DT.c
_OPEN = [DeliveryStatus.SENT.value, DeliveryStatus.SENDING.value, DeliveryStatus.QUEUED.value]


@dataclass(frozen=True, slots=True)
class Parking:
    """Bounds on parked receipts: hours one waits for its delivery, and how many per provider."""

    hours: int = 48
    cap: int = 20_000

    def cutoff(self, now: datetime) -> datetime:
        """Receipts parked before this have expired."""
        return now - timedelta(hours=self.hours)


@dataclass(frozen=True, slots=True)
class Applied:
    """What :func:`apply_receipts` did: pushes with rows re-queued as SMS, the provider
    ids parked because their deliveries are not recorded yet, and how many unknown
    receipts were dropped because the provider's parking was full."""

    pushes: set[int] = field(default_factory=set)
    parked: list[str] = field(default_factory=list)
    dropped: int = 0


async def apply_receipts(
    session: AsyncSession,
    provider: str,
    receipts: Sequence[Receipt],
    *,
    parking: Parking = Parking(),
) -> Applied:
    """Move deliveries to delivered/failed; park (within bounds) receipts of unknown ids."""
    rows = await _rows_of(session, provider, [r.provider_id for r in receipts])
    early = [r for r in receipts if r.provider_id not in rows]
    kept = await _park(session, provider, early, parking) if early else []
    known = [r for r in receipts if r.provider_id in rows]
    pushes = await _apply(session, provider, known, rows)
    return Applied(pushes, [r.provider_id for r in kept], len(early) - len(kept))


async def _rows_of(
    session: AsyncSession, provider: str, provider_ids: Sequence[str]
) -> dict[str, list[int]]:
    """The delivery ids each provider id names (one look-up by the provider-id index).

    Receipts are then applied by primary key: an update per receipt keyed on the
    provider id is a prepared statement whose generic plan PostgreSQL may settle while
    the table is small or its statistics stale, and a county push's receipts then each
    scanned the whole table (seen: 2,000 sequential scans in 15 s at 50,000 rows). The
    ids are one array parameter on PostgreSQL: an IN list is a new statement for each
    count of ids, prepared by asyncpg and parsed and planned by PostgreSQL every time.
    """
    rows: dict[str, list[int]] = {}
    if not provider_ids:
        return rows
    found = await session.execute(
        select(D.provider_id, D.id).where(
            D.provider == provider, one_of(session, D.provider_id, sorted(set(provider_ids)))
        )
    )
    for provider_id, delivery_id in found:
        rows.setdefault(provider_id, []).append(delivery_id)
    return rows


async def _park(
    session: AsyncSession, provider: str, early: Sequence[Receipt], parking: Parking
) -> Sequence[Receipt]:
    """Park as many of ``early`` as the provider's cap leaves room for; returns those."""
    now = utcnow()
    unexpired = (
        select(PendingReceipt.id)
        .where(
            PendingReceipt.provider == provider, PendingReceipt.received_at >= parking.cutoff(now)
        )
        .limit(parking.cap)  # counting stops at the cap: a full parking costs no more
        .subquery()
    )
    used = await session.scalar(select(func.count()).select_from(unexpired)) or 0
    kept = early[: max(parking.cap - used, 0)]
    if kept:
        await session.execute(
            insert(PendingReceipt),
            [
                {
                    "provider": provider,
                    "provider_id": r.provider_id[:128],
                    "delivered": r.delivered,
                    "code": r.code[:64],
                    "received_at": now,
                    # CMPP: a report may settle a message of unknown outcome by its number
                    "recipient": _national(r.recipient)[:32]
                    if provider == "cmpp" and r.recipient
                    else None,
                }
                for r in kept
            ],
        )
    return kept


async def _apply(
    session: AsyncSession,
    provider: str,
    receipts: Sequence[Receipt],
    rows: dict[str, list[int]],
) -> set[int]:
    now = utcnow()
    failed = [r for r in receipts if not r.delivered]
    pushes: set[int] = set()
    if provider == "wechat" and failed:
        named = [i for r in failed for i in rows.get(r.provider_id, ())]
        ids = list(
            await session.scalars(select(D.id).where(D.id.in_(named), D.status.in_(_OPEN)))
        )
        pushes = await fall_back_to_sms(session, ids, now=now)
    for delivered in (True, False):
        batch = [
            (delivery_id, r.provider_id, r.code[:64])
            for r in receipts
            if r.delivered is delivered
            for delivery_id in rows.get(r.provider_id, ())
        ]
        if not batch:
            continue
        status = DeliveryStatus.DELIVERED if delivered else DeliveryStatus.FAILED
        # one statement for the batch (an executemany costs a statement a receipt: a
        # county push's SMS reports, 1,000 a callback, queued the WeChat ones for minutes)
        v = rows_table(session, {"id": D.id, "pid": D.provider_id, "code": D.error_code}, batch)
        await session.execute(
            update(DT)
            # the row by its key (a plan that cannot drift to a scan), still under the
            # receipt's provider id: a row turned into an SMS fallback above has none now
            .where(D.id == v.c.id, D.provider == provider, D.provider_id == v.c.pid, _open())
            .values(
                status=status.value,
                done_at=now,
                # keep a delivered row's note (e.g. the WeChat → SMS fallback)
                error_code=D.error_code if delivered else v.c.code,
            )
        )
    return pushes


def _open() -> ColumnElement[bool]:
    """Rows a receipt may still change."""
    return D.status.in_(_OPEN)


async def apply_parked(
    session: AsyncSession, provider: str, provider_ids: Sequence[str]
) -> set[int]:
    """Apply parked receipts of these provider ids whose deliveries are recorded by now
    (the others stay parked until they are)."""
    if not provider_ids or not await _any_parked(session, provider):
        return set()
    pending = PendingReceipt.__table__.c
    recorded = (D.provider == pending.provider) & (D.provider_id == pending.provider_id)
    # Rows another transaction is taking are skipped, not waited for: every dispatch job
    # and the sweep take parked receipts at once, and deleting the same rows in
    # different orders deadlocked them (seen on PostgreSQL with two jobs per channel).
    # Whatever the other transaction took, it applies; if it rolls back, the rows stay
    # parked for the next sweep. SQLite has no row locks (one writer at a time).
    takeable = (
        select(pending.id)
        .where(
            pending.provider == provider,
            one_of(session, pending.provider_id, sorted(set(provider_ids))),
            select(D.id).where(recorded).exists(),  # only ids written by now
        )
        .with_for_update(skip_locked=True)
    )
    # Take and delete in one statement: whatever this statement returns, no other
    # transaction applies, and a row parked meanwhile is never deleted unread (a
    # separate read-then-delete-by-id could remove a new receipt on SQLite, which
    # reuses a freed id).
    taken = await session.execute(
        delete(PendingReceipt)
        .where(pending.id.in_(takeable))
        .returning(pending.provider_id, pending.delivered, pending.code)
    )
    receipts = [Receipt(pid, delivered, code) for pid, delivered, code in taken]
    if not receipts:
        return set()
    rows = await _rows_of(session, provider, [r.provider_id for r in receipts])
    return await _apply(session, provider, receipts, rows)


async def _any_parked(session: AsyncSession, provider: str) -> bool:
    """Cheap check first: almost always nothing is parked, and the batch's ids are many."""
    query = select(PendingReceipt.id).where(PendingReceipt.provider == provider).limit(1)
    return await session.scalar(query) is not None


async def apply_opt_outs(
    session: AsyncSession, kind: ChannelKind, opt_outs: Sequence[OptOut]
) -> int:
    """Record opt-outs by phone (SMS) or openid (WeChat); returns residents changed."""
    recipients = {o.recipient for o in opt_outs if o.recipient}
    if not recipients:
        return 0
    if kind is ChannelKind.SMS:
        recipients = {_national(r) for r in recipients}
        condition = Resident.phone.in_(recipients)
        values = {"sms_opt_out": True}
    else:
        condition = Resident.openid.in_(recipients)
        values = {"wechat_opt_out": True, "wechat_follows": False}
    changed = await session.scalars(
        update(Resident).where(condition).values(**values).returning(Resident)
    )
    residents = list(changed)
    now = utcnow()
    for resident in residents:  # their messages still waiting: the other channel, or none
        await follow_resident(session, resident, now)
    return len(residents)


async def apply_follows(session: AsyncSession, openids: Sequence[str]) -> int:
    """Residents who followed the account (again) get WeChat from the next push on:
    following is their latest word, so an earlier unsubscribe no longer holds.
    Returns residents changed (a follower we have no resident for changes nothing)."""
    if not openids:
        return 0
    changed = await session.execute(
        update(Resident)
        .where(Resident.openid.in_(set(openids)))
        .values(wechat_follows=True, wechat_opt_out=False)
        .returning(Resident.id)
    )
    return len(list(changed.scalars()))


def _national(phone: str) -> str:
    digits = phone.strip().removeprefix("+")
    return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits


async def apply_all_parked(session: AsyncSession) -> set[int]:
    """Apply every parked receipt whose delivery is now recorded (run by the sweeper)."""
    rows = (
        await session.execute(
            select(PendingReceipt.provider, PendingReceipt.provider_id).join(
                DT,
                (D.provider == PendingReceipt.provider)
                & (D.provider_id == PendingReceipt.provider_id),
            )
        )
    ).all()
    pushes: set[int] = set()
    for provider in {p for p, _ in rows}:
        ids = [pid for p, pid in rows if p == provider]
        pushes |= await apply_parked(session, provider, ids)
    return pushes


def database_receipts(db: SessionFactory) -> ReceiptSink:
    """The sink for providers that hear receipts on their own connection (CMPP): each batch
    is applied in a transaction of its own, receipts (parked when early), opt-outs and
    follows. SMS fallbacks it queues are dispatched by the sweeper; replies that are not
    opt-outs are not answered here (the HTTP callbacks' ``_take_replies`` does that)."""

    async def take(provider: str, batch: CallbackBatch) -> None:
        kind = registry.provider(provider).kind or ChannelKind.SMS
        async with transaction(db) as session:
            if batch.receipts:
                await apply_receipts(session, provider, batch.receipts)
            if batch.opt_outs:
                await apply_opt_outs(session, kind, batch.opt_outs)
            if batch.follows:
                await apply_follows(session, batch.follows)

    return take
