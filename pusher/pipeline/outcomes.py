"""Writing what a provider answered back onto the claimed delivery rows.

Every write is guarded by ``claimed_by`` and ``status = 'sending'``, so a
worker whose lease ran out cannot overwrite what another worker recorded.
Transient errors are retried on the schedule in settings (with jitter); after
the last try, or on a permanent error, the delivery fails with its reason. A
permanent WeChat failure falls back to SMS when the resident consented.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, FromClause, case, null, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import (
    Accepted,
    ChannelKind,
    FatalError,
    LookupFailed,
    Outcome,
    Rejected,
    UnknownOutcome,
)
from channels.quota import quota_retry_at
from channels.registry import QUOTA_WAITS
from pusher.models import Delivery, DeliveryStatus, Resident
from pusher.pipeline.bulk import rows_table
from pusher.pipeline.claims import Claimed
from subscriptions.channel import sms_ok

DT = Delivery.__table__
D = DT.c
FALLBACK_CODE = "wechat_fallback"
FATAL_HOLD = timedelta(minutes=10)
LOOKUP_RETRY = timedelta(seconds=10)  # a failed query, not a send: ask again soon


@dataclass
class Tally:
    """What one dispatch pass did, for logs and tests."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    fell_back: int = 0
    already_accepted: int = 0
    deferred: int = 0
    fatal: str | None = None
    #: The pass ran out of time with rows maybe left: another dispatch should follow.
    more: bool = False
    codes: dict[str, int] = field(default_factory=dict)
    fallback_pushes: set[int] = field(default_factory=set)

    def add(self, other: Tally) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        self.fell_back += other.fell_back
        self.already_accepted += other.already_accepted
        self.deferred += other.deferred
        self.fatal = other.fatal or self.fatal
        self.more = self.more or other.more
        self.fallback_pushes |= other.fallback_pushes
        for code, count in other.codes.items():
            self.codes[code] = self.codes.get(code, 0) + count


@dataclass(frozen=True)
class RetryPolicy:
    delays: Sequence[int]
    jitter: float

    def next_at(self, attempts: int, now: datetime) -> datetime | None:
        """When to try again after ``attempts`` tries, or None when out of tries."""
        if attempts > len(self.delays):
            return None
        base = self.delays[attempts - 1]
        return now + timedelta(seconds=base * (1 + random.uniform(-self.jitter, self.jitter)))


#: Columns that every outcome row carries so that :func:`_mine` can guard on them.
GUARD = {"who": D.claimed_by, "state": D.status}


def _guarded(worker: str, row: tuple[Any, ...]) -> tuple[Any, ...]:
    return (*row, worker, DeliveryStatus.SENDING.value)


def _mine(v: FromClause) -> list[ColumnElement[bool]]:
    """The rows of ``v`` still claimed by their worker (a lost lease writes nothing).

    The worker and status travel with the rows rather than as constants: PostgreSQL's
    statistics always show 'sending' as rare, so a constant filter made it expect one
    claimed row and compare every row of the batch with every other (500 × 500) on a
    table small enough to scan. As join conditions they leave the plan to the ids.
    """
    return [D.id == v.c.id, D.claimed_by == v.c.who, D.status == v.c.state]


async def record(
    session: AsyncSession,
    claimed: Sequence[Claimed],
    outcomes: Sequence[Outcome],
    *,
    kind: ChannelKind,
    provider: str,
    worker: str,
    policy: RetryPolicy,
    now: datetime,
    final_on_accept: bool = False,
    paced_until: datetime | None = None,
) -> Tally:
    """Write ``outcomes`` (one per claimed row, same order) back to the database."""
    tally = Tally()
    attempts = {str(c.id): c.attempts for c in claimed}
    accepted = [o for o in outcomes if isinstance(o, Accepted)]
    rejected = [o for o in outcomes if isinstance(o, Rejected)]
    if accepted:
        v = rows_table(
            session,
            {"id": D.id, "pid": D.provider_id} | GUARD,
            [_guarded(worker, (int(o.key), o.provider_id)) for o in accepted],
        )
        await session.execute(
            update(DT)
            .where(*_mine(v))
            .values(
                status=(DeliveryStatus.DELIVERED if final_on_accept else DeliveryStatus.SENT).value,
                provider=provider,
                provider_id=v.c.pid,
                sent_at=now,
                done_at=now if final_on_accept else None,
                next_attempt_at=None,  # nothing left to try: out of the claim index
                error_code=_keep_fallback(D.error_code),
                error_message=_keep_fallback(D.error_message),
            )
        )
        tally.sent = len(accepted)
    sorted_ = _sort(
        rejected,
        attempts,
        policy=policy,
        now=now,
        paced_until=paced_until,
        waits=QUOTA_WAITS.get(provider, {}),
    )
    for o in rejected:
        tally.codes[o.error.code] = tally.codes.get(o.error.code, 0) + 1
        if isinstance(o.error, FatalError):
            tally.fatal = o.error.code
    for name in ("deferred", "unasked", "uncertain", "retry"):
        await _write(session, worker, sorted_[name], name, provider, now=now)
    tally.deferred += len(sorted_["deferred"]) + len(sorted_["unasked"])
    tally.retried += len(sorted_["uncertain"]) + len(sorted_["retry"])
    if sorted_["final"]:
        finals = [o for o, _ in sorted_["final"]]
        if kind is ChannelKind.WECHAT:
            tally.fell_back = await _fall_back(session, finals, worker=worker, now=now)
        await _write(session, worker, sorted_["final"], "final", provider, now=now)
        tally.failed = len(finals) - tally.fell_back
    return tally


PACED = "paced"


def _keep_fallback(column: Any) -> Any:
    """Clear the last error on success, but keep the note that SMS replaced WeChat."""
    return case((D.error_code == FALLBACK_CODE, column), else_=null())


Sorted = dict[str, list[tuple[Rejected, datetime]]]


def _sort(
    rejected: Sequence[Rejected],
    attempts: dict[str, int],
    *,
    policy: RetryPolicy,
    now: datetime,
    paced_until: datetime | None,
    waits: Mapping[str, int | str],
) -> Sorted:
    """What to do with each refusal (by the error's type), and when to look at the row again."""
    out: Sorted = {k: [] for k in ("retry", "final", "deferred", "uncertain", "unasked")}
    for o in rejected:
        code = o.error.code
        if isinstance(o.error, FatalError):
            # the channel is misconfigured: keep the message and hold it until fixed
            out["deferred"].append((o, now + FATAL_HOLD))
            continue
        if isinstance(o.error, LookupFailed):
            # we could not ask the provider: not a try; ask again shortly, never resend blind
            out["unasked"].append((o, now + LOOKUP_RETRY))
            continue
        later = paced_until if code == PACED else quota_retry_at(code, now, waits=waits)
        if later is not None:
            out["deferred"].append((o, later))
            continue
        when = policy.next_at(attempts[o.key], now) if o.error.transient else None
        if when is None:
            out["final"].append((o, now))
        else:
            out["uncertain" if isinstance(o.error, UnknownOutcome) else "retry"].append((o, when))
    return out


def _writes(provider: str, v: FromClause, now: datetime) -> dict[str, dict[str, Any]]:
    """The columns each kind of refusal writes (``v.c.at``: when to look at the row again).

    A row of unknown outcome keeps in ``next_attempt_at`` when the call that may have
    reached the provider ended (``now``): a look-up reads it as the message's age, since
    a provider that lists a message only once its report is in (Tencent) has not listed
    a young one yet."""
    error = {"provider": provider, "error_code": v.c.code, "error_message": v.c.msg}
    queued: dict[str, Any] = {
        "status": DeliveryStatus.QUEUED.value,
        "next_attempt_at": v.c.at,
        "claimed_by": None,
        "lease_until": None,
        **error,
    }
    # a row left "sending" without an owner is reclaimed when v.at passes, then looked up
    unowned: dict[str, Any] = {"claimed_by": None, "lease_until": v.c.at}
    return {
        "deferred": queued | {"attempts": D.attempts - 1},  # quota or pacing: not a try
        "unasked": unowned | {"attempts": D.attempts - 1},  # the provider could not be asked
        # the call may have reached the provider
        "uncertain": unowned | error | {"next_attempt_at": now},
        "retry": queued,
        "final": {
            "status": DeliveryStatus.FAILED.value,
            "done_at": v.c.at,
            "next_attempt_at": None,
            **error,
        },
    }


async def _write(
    session: AsyncSession,
    worker: str,
    rows: Sequence[tuple[Rejected, datetime]],
    kind: str,
    provider: str,
    *,
    now: datetime,
) -> None:
    if not rows:
        return
    columns = {
        "id": D.id,
        "code": D.error_code,
        "msg": D.error_message,
        "at": D.next_attempt_at,
    } | GUARD
    v = rows_table(
        session,
        columns,
        [
            _guarded(worker, (int(o.key), o.error.code[:64], o.error.message[:500], when))
            for o, when in rows
        ],
    )
    await session.execute(update(DT).where(*_mine(v)).values(**_writes(provider, v, now)[kind]))


async def _fall_back(
    session: AsyncSession, rejected: Sequence[Rejected], *, worker: str, now: datetime
) -> int:
    """Re-queue permanently failed WeChat deliveries as SMS where the resident consented."""
    ids = [int(o.key) for o in rejected if not o.error.transient]
    return len(await fall_back_to_sms(session, ids, now=now, worker=worker))


async def fall_back_to_sms(
    session: AsyncSession, ids: Sequence[int], *, now: datetime, worker: str | None = None
) -> set[int]:
    """Turn WeChat deliveries ``ids`` into queued SMS deliveries where the resident can get
    SMS; returns the pushes concerned (their SMS dispatch needs a nudge)."""
    if not ids:
        return set()
    phone = select(Resident.phone).where(Resident.id == D.resident_id, sms_ok()).scalar_subquery()
    condition = D.id.in_(list(ids)) & phone.is_not(None) & (D.channel == ChannelKind.WECHAT.value)
    if worker is not None:
        condition = condition & (D.claimed_by == worker)
    result = await session.execute(
        update(DT)
        .where(condition)
        .values(
            channel=ChannelKind.SMS.value,
            recipient=phone,
            status=DeliveryStatus.QUEUED.value,
            attempts=0,
            claimed_by=None,
            lease_until=None,
            next_attempt_at=now,
            provider=None,
            provider_id=None,
            error_code=FALLBACK_CODE,
            error_message="微信未送达，改发短信",
        )
        .returning(D.push_id)
    )
    return {int(p) for p in result.scalars()}
