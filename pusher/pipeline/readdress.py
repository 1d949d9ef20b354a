"""A resident's addresses or consents changed: their messages still waiting follow.

Planning writes the channel and address (openid or phone) into each delivery
row, so a row held overnight by the quiet hours, or waiting for a retry, would
still go to the old number after a grid worker corrected it, or over a channel
the resident has just refused. When a resident is saved, each queued row keeps
its channel while that channel may still reach them (re-addressed if the address
changed), moves to the other channel when it may not, and is cancelled
(``failed``, ``opted_out``) when neither may. An SMS row that is the fallback of
a failed WeChat message is not moved back to WeChat. Rows already handed to a
provider (``sending``) are left to finish.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import ChannelKind
from pusher.db import rowcount
from pusher.models import Delivery, DeliveryStatus, Resident, deliveries_of
from pusher.pipeline.outcomes import FALLBACK_CODE
from subscriptions.channel import RESIDENT_CHANNELS, allowed

DT = Delivery.__table__
D = DT.c


async def follow_resident(session: AsyncSession, resident: Resident, now: datetime) -> int:
    """Bring the queued deliveries of ``resident`` (as saved) in line; returns rows changed."""
    assert resident.id is not None
    queued = await session.scalars(
        select(D.channel)
        .where(deliveries_of([resident.id]), D.status == DeliveryStatus.QUEUED.value)
        .distinct()
    )
    channels = set(queued)
    reach = allowed(resident)
    changed = 0
    for kind in RESIDENT_CHANNELS:
        if kind.value not in channels:  # nothing of theirs waits there (the usual case)
            continue
        waiting = (
            deliveries_of([resident.id]),
            D.channel == kind.value,
            D.status == DeliveryStatus.QUEUED.value,
        )
        if kind in reach:  # still allowed: the address as saved
            statement = update(DT).where(*waiting, D.recipient != reach[kind])
            changed += rowcount(await session.execute(statement.values(recipient=reach[kind])))
            continue
        other = next((k for k in reach if k is not kind), None)
        if other is not None:
            fallback_back = other is ChannelKind.WECHAT  # a fallback SMS stays off WeChat
            movable = _not_a_fallback() if fallback_back else true()
            statement = update(DT).where(*waiting, movable)
            changed += rowcount(
                await session.execute(
                    statement.values(
                        channel=other.value,
                        recipient=reach[other],
                        # no claim range holds it on the other channel: a time set puts
                        # it in the claim index (a time already set, say 08:00, is kept)
                        next_attempt_at=func.coalesce(D.next_attempt_at, now),
                    )
                )
            )
            if not fallback_back:
                continue  # every row moved
        cancel = update(DT).where(*waiting)  # whatever could not move
        changed += rowcount(
            await session.execute(
                cancel.values(
                    status=DeliveryStatus.FAILED.value, error_code="opted_out", done_at=now
                )
            )
        )
    return changed


def _not_a_fallback() -> ColumnElement[bool]:
    return D.error_code.is_(None) | (D.error_code != FALLBACK_CODE)
