"""Receipts: providers' delivery reports and residents' opt-outs, applied to the record.

Applying the same receipt twice changes nothing (a delivered row stays
delivered; a confirmed-in-person row is never overwritten). Opt-outs take
effect at once: no later planning picks that channel for that resident.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import ChannelKind, OptOut, Receipt
from pusher.models import Delivery, DeliveryStatus, Resident, utcnow

DT = Delivery.__table__
D = DT.c
_OPEN = [DeliveryStatus.SENT.value, DeliveryStatus.SENDING.value, DeliveryStatus.QUEUED.value]


async def apply_receipts(session: AsyncSession, provider: str, receipts: Sequence[Receipt]) -> int:
    """Move sent deliveries to delivered/failed; returns how many rows changed."""
    if not receipts:
        return 0
    now = utcnow()
    changed = 0
    for delivered in (True, False):
        batch = [r for r in receipts if r.delivered is delivered]
        if not batch:
            continue
        status = DeliveryStatus.DELIVERED if delivered else DeliveryStatus.FAILED
        values: dict[str, object] = {"status": status.value, "done_at": now}
        if not delivered:
            values["error_code"] = bindparam("b_code")
        result = await session.execute(
            update(DT)
            .where(
                D.provider == provider,
                D.provider_id == bindparam("b_pid"),
                D.status.in_(_OPEN),
            )
            .values(**values),
            [{"b_pid": r.provider_id, "b_code": r.code[:64]} for r in batch],
        )
        changed += int(result.rowcount or 0)
    return changed


async def apply_opt_outs(
    session: AsyncSession, kind: ChannelKind, opt_outs: Sequence[OptOut]
) -> int:
    """Record opt-outs by phone (SMS) or openid (WeChat); returns residents changed."""
    recipients = [o.recipient for o in opt_outs]
    if not recipients:
        return 0
    if kind is ChannelKind.SMS:
        phones = {r.removeprefix("+86").removeprefix("86") for r in recipients if r}
        condition = or_(Resident.phone.in_(phones))
        values = {"sms_opt_out": True}
    else:
        condition = or_(Resident.openid.in_(recipients))
        values = {"wechat_opt_out": True, "wechat_follows": False}
    result = await session.execute(update(Resident).where(condition).values(**values))
    return int(result.rowcount or 0)
