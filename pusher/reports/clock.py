"""The disclosure clock: each item is due N working days after it was formed or changed.

N is the item's ``time_limit_days`` (set from its catalogue entry), else 20. The clock
starts on the item's formation date (成文日期, ``formed_at``); a correction (a changed
item, ``corrects_id`` set) starts on the day the change was recorded; an item with no
formation date on record starts on the day it was entered. It stops on the day the item
was approved for release (the leader's approval, or the one-step urgent approval).
Only proactively disclosed items (主动公开) written by the office run a clock: an item
read from a county source was disclosed there, on the county's clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.models import Disclosure, Item, ItemStatus, Review
from pusher.reports.period import LOCAL, Period
from pusher.settings import Settings
from pusher.workdays import DEFAULT_LIMIT, CalendarUnknown, WorkCalendar

#: the console's warning: items due within this many working days
SOON = 3
OPEN = (ItemStatus.DRAFT, ItemStatus.SUBMITTED, ItemStatus.CHECKED, ItemStatus.REJECTED)


@dataclass(frozen=True)
class Clock:
    """One item's deadline. ``left``: working days from today to the due date (negative:
    overdue), for items not disclosed yet; ``error``: why no due date could be worked out."""

    item_id: int
    title: str
    publisher: str
    status: str
    start: date
    start_kind: str
    limit: int
    due: date | None
    disclosed: date | None
    left: int | None = None
    error: str = ""

    @property
    def on_time(self) -> bool | None:
        if self.disclosed is None or self.due is None:
            return None
        return self.disclosed <= self.due


def local_day(stamp: datetime) -> date:
    """The Beijing date of a stored time (SQLite hands back naive UTC)."""
    aware = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    return aware.astimezone(LOCAL).date()


def approvals() -> Any:
    """item_id → when it was last approved for release (a subquery)."""
    approving = Review.step.in_(("leader", "urgent")) & (Review.decision == "approve")
    query = select(Review.item_id, func.max(Review.at).label("at")).where(approving)
    return query.group_by(Review.item_id).subquery()


def _query() -> tuple[Select[Any], Any]:
    approved = approvals()
    columns = (Item.id, Item.title, Item.publisher, Item.status, Item.formed_at,
               Item.created_at, Item.corrects_id, Item.time_limit_days, approved.c.at)  # fmt: skip
    query = (
        select(*columns)
        .outerjoin(approved, approved.c.item_id == Item.id)
        .where(Item.disclosure == Disclosure.PROACTIVE, Item.source_id.is_(None))
        .order_by(Item.id)
    )
    return query, approved


def _start(row: Any) -> tuple[date, str]:
    if row.corrects_id is not None:
        return local_day(row.created_at), "变更日期"
    if row.formed_at is not None:
        return local_day(row.formed_at), "形成日期"
    return local_day(row.created_at), "录入日期"


def clock_of(row: Any, calendar: WorkCalendar, today: date | None) -> Clock:
    """The clock of one row of the query (``today`` set: count the days left)."""
    start, kind = _start(row)
    limit = row.time_limit_days or DEFAULT_LIMIT
    disclosed = local_day(row.at) if row.at is not None else None
    base = {"item_id": row.id, "title": row.title, "publisher": row.publisher,
            "status": row.status, "start": start, "start_kind": kind, "limit": limit,
            "disclosed": disclosed}  # fmt: skip
    try:
        due = calendar.add(start, limit)
        left = calendar.between(today, due) if today and disclosed is None else None
    except CalendarUnknown as exc:
        return Clock(**base, due=None, error=exc.message)
    return Clock(**base, due=due, left=left)


async def open_clocks(
    db: AsyncSession, calendar: WorkCalendar, *, today: date, soon: int = SOON
) -> list[Clock]:
    """Items not yet approved whose deadline is within ``soon`` working days or past,
    and those whose deadline cannot be worked out; the most urgent first."""
    query, _ = _query()
    rows = await db.execute(query.where(Item.status.in_(OPEN), Item.gone_at.is_(None)))
    clocks = [clock_of(row, calendar, today) for row in rows]
    due = [c for c in clocks if c.error or (c.left is not None and c.left <= soon)]
    return sorted(due, key=lambda c: (c.due is not None, c.due or date.min, c.item_id))


async def item_clock(
    db: AsyncSession, calendar: WorkCalendar, item_id: int, *, today: date
) -> Clock | None:
    """One item's clock; None when it runs none (disclosed on request, or from a source)."""
    query, _ = _query()
    row = (await db.execute(query.where(Item.id == item_id))).first()
    return clock_of(row, calendar, today) if row is not None else None


async def disclosed_clocks(
    db: AsyncSession, calendar: WorkCalendar, period: Period
) -> list[Clock]:
    """Items approved for release in ``period``, each with its due date."""
    query, approved = _query()
    rows = await db.execute(
        query.where(approved.c.at >= period.start, approved.c.at < period.end)
    )
    return [clock_of(row, calendar, None) for row in rows]


def tally(clocks: Sequence[Clock]) -> dict[str, int]:
    """On time, late and unknown (no due date) counts of disclosed items."""
    out = {"on_time": 0, "late": 0, "unknown": 0}
    for c in clocks:
        key = {True: "on_time", False: "late", None: "unknown"}[c.on_time]
        out[key] += 1
    return out


def calendar_for(settings: Settings) -> WorkCalendar:
    """The national calendar with the township's own days from ``settings``."""
    return WorkCalendar.national(
        local_holidays=settings.local_holidays, local_workdays=settings.local_workdays
    )
