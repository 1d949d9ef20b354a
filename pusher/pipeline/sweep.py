"""What the sweeper looks for: work that is due, and work that was lost on the way.

Redis holds only the job queue; the database holds every delivery. The sweeper
(every 15 s) turns the database's view back into jobs: deliveries due for a
retry, leases that ran out, planned rows never claimed, and approved items
whose planning never finished.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlmodel import col

from pusher.db import SessionFactory
from pusher.models import (
    PERSON_CHANNELS,
    Delivery,
    DeliveryRange,
    DeliveryStatus,
    Disclosure,
    Item,
    ItemStatus,
    Push,
)

D = Delivery.__table__.c
R = DeliveryRange.__table__.c


async def due_work(db: SessionFactory, now: datetime) -> list[tuple[int, str]]:
    """(push, channel) pairs with deliveries due now, leases run out, or planned
    ranges not claimed to their end: for the sweeper."""
    async with db() as session:
        timed = await session.execute(
            select(D.push_id, D.channel)
            .where(
                D.next_attempt_at.is_not(None),
                D.channel.not_in(PERSON_CHANNELS),  # a person completes these, not dispatch
                ((D.status == DeliveryStatus.QUEUED.value) & (D.next_attempt_at <= now))
                | ((D.status == DeliveryStatus.SENDING.value) & (D.lease_until < now)),
            )
            .group_by(D.push_id, D.channel)
        )
        pairs = {(int(p), str(c)) for p, c in timed}
        fresh = await session.execute(
            select(R.push_id, R.channel).where(R.claimed_upto < R.upto_id).distinct()
        )
        pairs |= {(int(p), str(c)) for p, c in fresh}
        return sorted(pairs)


#: An approved item with no push yet: its job may still wait behind a busy queue.
UNPLANNED_AFTER = timedelta(minutes=5)
#: A push in planning that recorded no chunk for this long: its planner died. A chunk
#: takes well under a second; planning it again beside a live planner is safe (a twin
#: writes only the rows still missing), only wasted work.
STALLED_AFTER = timedelta(seconds=60)


async def stranded_items(db: SessionFactory, now: datetime) -> list[int]:
    """Approved items whose planning never finished (a worker died, Redis lost the job)."""
    quiet_since = now - UNPLANNED_AFTER
    stalled_since = now - STALLED_AFTER
    async with db() as session:
        unplanned = await session.scalars(
            select(Item.id)
            .outerjoin(Push, Push.item_id == Item.id)
            .where(
                Item.status == ItemStatus.APPROVED,
                Item.disclosure == Disclosure.PROACTIVE,
                or_(
                    and_(col(Push.id).is_(None), col(Item.updated_at) < quiet_since),
                    and_(
                        col(Push.status) == "planning",
                        func.coalesce(Push.progress_at, Push.created_at) < stalled_since,
                    ),
                ),
            )
        )
        return list(unplanned)
