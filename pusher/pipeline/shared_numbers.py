"""One SMS per phone number per push, when several residents share the number.

An elderly couple or a family often share one phone (家庭共用号码). Each resident keeps
their own delivery row (reports count every resident), but only one row per (push,
number) sends: the first claimed, recorded in :class:`~pusher.models.NumberSend`, whose
primary key decides between workers claiming at once. Its text names everyone it is for
when that costs no extra SMS segment. The other rows are *covered*: ``covered_by`` points
at the sending row and they take its outcome and provider id (so a delivery receipt
settles them all). A covered row whose sender has not settled yet waits
(:data:`RECHECK`) and is looked at again; one whose sender never sent (cancelled, opted
out, moved out) takes over the number and is sent itself.

Only numbers that more than one resident has on record pay for this (one indexed
``GROUP BY`` per batch finds them); other SMS rows are sent as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.models import Delivery, DeliveryStatus, NumberSend, Resident
from pusher.pipeline.bulk import one_of
from pusher.pipeline.claims import Claimed
from pusher.summary.length import sms_segments

DT = Delivery.__table__
D = DT.c
NT = NumberSend.__table__
N = NT.c
#: how long a covered row waits before looking at its sender again
RECHECK = timedelta(seconds=60)
WAITING = (DeliveryStatus.QUEUED.value, DeliveryStatus.SENDING.value)
MIRRORED = ("status", "provider", "provider_id", "sent_at", "done_at", "error_code")


@dataclass
class Sharing:
    """A claimed SMS batch split: rows to send, and rows covered by another row."""

    send: list[Claimed]
    covered: dict[int, int] = field(default_factory=dict)  # covered row → sending row
    names: dict[int, str] = field(default_factory=dict)  # sending row → "张三、李四"


async def share_numbers(session: AsyncSession, push_id: int, batch: Sequence[Claimed]) -> Sharing:
    """Decide which rows of ``batch`` send and which are covered by another row."""
    shared = await _shared(session, {c.recipient for c in batch if c.recipient})
    if not shared:
        return Sharing(list(batch))
    first: dict[str, int] = {}
    for c in sorted(batch, key=lambda c: c.id):
        if c.recipient in shared:
            first.setdefault(c.recipient, c.id)
    module = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    await session.execute(
        module.insert(NT).on_conflict_do_nothing(),
        [{"push_id": push_id, "recipient": r, "delivery_id": i} for r, i in first.items()],
    )
    claims = await session.execute(
        select(N.recipient, N.delivery_id).where(N.push_id == push_id, N.recipient.in_(first))
    )
    owners: dict[str, int] = {str(r): int(i) for r, i in claims}
    out = Sharing([c for c in batch if owners.get(c.recipient, c.id) == c.id])
    sends = {c.id for c in out.send}
    out.covered = {c.id: owners[c.recipient] for c in batch if c.id not in sends}
    sending = {r: owners[r] for r in first if owners[r] == first[r]}
    out.names = await _names(session, push_id, sending)
    return out


async def _shared(session: AsyncSession, phones: set[str]) -> set[str]:
    if not phones:
        return set()
    rows = await session.scalars(
        select(Resident.phone)
        .where(one_of(session, Resident.__table__.c.phone, sorted(phones)))
        .group_by(Resident.phone)
        .having(func.count() > 1)
    )
    return {p for p in rows if p}


async def _names(session: AsyncSession, push_id: int, senders: Mapping[str, int]) -> dict[int, str]:
    """The names each sending row's message is for: every resident of the push with an
    SMS row to that number (in resident order)."""
    if not senders:
        return {}
    rows = await session.execute(
        select(Resident.phone, Resident.name)
        .join(DT, (D.push_id == push_id) & (D.resident_id == Resident.id))
        .where(
            Resident.phone.in_(list(senders)),
            D.channel == "sms",
            D.recipient == Resident.phone,
            D.status != DeliveryStatus.CANCELLED.value,
        )
        .order_by(Resident.id)
    )
    names: dict[str, list[str]] = {}
    for phone, name in rows:
        names.setdefault(phone, []).append(name)
    return {senders[p]: "、".join(n) for p, n in names.items() if len(n) > 1}


def named(content: Mapping[str, Any], names: str) -> dict[str, Any]:
    """``content`` whose text says who it is for, when that costs no extra SMS segment.

    A template parameter holding the whole text after the signature (``${content}``)
    says it too. An approved template with variables of its own says it in front of
    its title variable (``names_into``: the variable and its limit) when that fits the
    limit; otherwise the text is unchanged.
    """
    into = content.get("names_into")
    if isinstance(into, Mapping) and content.get("template"):
        return _named_in_variable(content, names, str(into["param"]), int(into["max"]))
    out = dict(content)
    text = str(content.get("text", ""))
    cut = text.index("】") + 1 if text.startswith("【") and "】" in text else 0
    body = text[cut:]
    params = {str(k): str(v) for k, v in (content.get("params") or {}).items()}
    carrying = [k for k, v in params.items() if v == body]
    if not body or (params and not carrying):
        return out
    marked = f"致{names}：{body}"
    if sms_segments(text[:cut] + marked) > sms_segments(text):
        return out
    out["text"] = text[:cut] + marked
    if params:
        out["params"] = params | dict.fromkeys(carrying, marked)
    return out


def _named_in_variable(
    content: Mapping[str, Any], names: str, param: str, limit: int
) -> dict[str, Any]:
    out = dict(content)
    params = {str(k): str(v) for k, v in (content.get("params") or {}).items()}
    value = params.get(param)
    text = str(content.get("text", ""))
    marked = f"致{names}：{value}"
    if value is None or value not in text or len(marked) > limit:
        return out
    cut = text.index("】") + 1 if text.startswith("【") and "】" in text else 0
    longer = text[:cut] + text[cut:].replace(value, marked, 1)
    if sms_segments(longer) > sms_segments(text):
        return out
    out["text"] = longer
    out["params"] = params | {param: marked}
    return out


async def settle_covered(
    session: AsyncSession,
    push_id: int,
    covered: Mapping[int, int],
    *,
    worker: str,
    now: datetime,
) -> None:
    """Give covered rows (claimed by ``worker``) their sending row's outcome, or put
    them back to wait for it, or free the number when the sending row never sent."""
    if not covered:
        return
    owners = {
        row.id: row
        for row in await session.execute(
            select(D.id, D.next_attempt_at, *(D[c] for c in MIRRORED))
            .where(D.id.in_(set(covered.values())))
        )
    }  # fmt: skip
    mine = (D.id == bindparam("b_id")) & (D.claimed_by == worker)
    mine = mine & (D.status == DeliveryStatus.SENDING.value)
    copies: list[dict[str, Any]] = []
    waits: list[dict[str, Any]] = []
    frees: set[int] = set()
    for rid, oid in covered.items():
        owner = owners.get(oid)
        if owner is not None and owner.provider_id is not None:
            mirrored = {f"b_{c}": owner._mapping[c] for c in MIRRORED}
            copies.append({"b_id": rid, "b_owner": oid} | mirrored)
        elif owner is not None and owner.status in WAITING:
            later = max(owner.next_attempt_at or now, now + RECHECK)
            waits.append({"b_id": rid, "b_owner": oid, "b_at": later})
        else:  # it never sent: the number is free for the next row claimed
            waits.append({"b_id": rid, "b_owner": None, "b_at": now})
            frees.add(oid)
    if copies:
        values: dict[str, Any] = {c: bindparam(f"b_{c}") for c in MIRRORED}
        await session.execute(
            update(DT).where(mine).values(
                covered_by=bindparam("b_owner"), next_attempt_at=None, claimed_by=None,
                lease_until=None, error_message="同一号码已发（家庭共用号码）", **values,
            ),
            copies,
        )  # fmt: skip
    if waits:
        await session.execute(
            update(DT).where(mine).values(
                status=DeliveryStatus.QUEUED.value, covered_by=bindparam("b_owner"),
                next_attempt_at=bindparam("b_at"), claimed_by=None, lease_until=None,
                attempts=D.attempts - 1,
            ),
            waits,
        )  # fmt: skip
    if frees:
        await session.execute(delete(NT).where(N.push_id == push_id, N.delivery_id.in_(frees)))
