"""The delivery log's query (console page, exports, API list), fast with millions of rows.

A planned resident row maintains only the primary key and the (push, resident) index
(see :class:`~pusher.models.Delivery`), so the filters are shaped to use what exists:

- **Regions** (village, grid, a grid worker's scope): the deliveries of the residents
  living there now, found push by push through the (push, resident) index, and the
  group-chat rows of the regions (their partial unique index); the row's own region (where
  the resident lived when it was planned) must be inside too. A resident who moved
  away since is no longer in the old region's log.
- **Dates**: only the pushes whose rows can fall in the period (created before its end,
  planning not finished before its start) are read, as a list of ids the planner sees.
- **Status** failed / unreachable: the partial index of missed deliveries; sending: the
  claim index (a claimed row has its time set); cancelled: its own partial index (a
  planned row is never cancelled); **channel** group chat: the group-chat index. The
  other statuses and channels are dense in any real log (a page of 100 is found after a
  few hundred rows). ``queued`` is dense while a push goes out and rare after: its fresh
  rows have no index (planning would pay for one per row), so it reads only the pushes
  with open claim ranges or queued rows in the claim index (a log of pushes that went
  out would otherwise be read to its end).
- **Pages** are keyset (``after`` the last id of the page before), and the **total** is
  counted up to :data:`COUNT_CAP` rows: the exact count of a million rows alone takes
  longer than a page should.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    false,
    func,
    literal,
    or_,
    select,
    union,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from channels.base import ChannelKind
from pusher.models import (
    PERSON_CHANNELS,
    Delivery,
    DeliveryRange,
    DeliveryStatus,
    GroupChat,
    Push,
    Region,
    Resident,
)
from pusher.reports.period import range_of, today_local
from pusher.web.params import parse_id

D = Delivery.__table__.c
P = Push.__table__.c
R = DeliveryRange.__table__.c
#: The row's region (a grid, mostly), for its name.
Grid = aliased(Region)
#: Rows a total is counted up to; beyond, the page says "more than".
COUNT_CAP = 1_000
#: ``kind`` of a row: a resident's, or a group chat's (whose own kind is its channel:
#: wecom = robot, wecom_group = customer group, relay = relayed by its keeper)
KINDS = ("resident", "group")
GROUP_CHANNELS = (ChannelKind.WECOM.value, *PERSON_CHANNELS)
#: who a row went to: the resident's name, or the group chat's
WHO = func.coalesce(Resident.name, GroupChat.name)


@dataclass(frozen=True)
class LogFilter:
    """What the log is cut to; ``None`` leaves a dimension open."""

    push_id: int | None = None
    resident_id: int | None = None
    #: region ids the rows must lie in (village, grid and scope already intersected)
    region_ids: frozenset[int] | None = None
    channel: str | None = None
    status: str | None = None
    #: "resident" or "group": residents' rows or group chats' rows
    kind: str | None = None
    start: datetime | None = None
    end: datetime | None = None


async def regions_under(session: AsyncSession, code: str) -> frozenset[int]:
    """Ids of the region with ``code`` and every region below it (none if unknown)."""
    ids = await session.scalars(select(Region.id).where(Region.path.contains(f"/{code}/")))
    return frozenset(ids.all())


def narrowed(current: frozenset[int] | None, more: Collection[int]) -> frozenset[int]:
    """``current`` region ids cut to ``more`` (``None`` is every region)."""
    return frozenset(more) if current is None else current & frozenset(more)


async def log_filter(
    session: AsyncSession, q: Mapping[str, str], scope: frozenset[int] | None
) -> LogFilter:
    """The console's filter from its query string (``push``, ``village``, ``grid``,
    ``channel``, ``status``, ``date`` or ``from``/``to``), inside ``scope``; a malformed
    date is a 422 with a Chinese sentence."""
    regions = scope
    for key in ("village", "grid"):
        if q.get(key):
            regions = narrowed(regions, await regions_under(session, q[key]))
    if q.get("date") and not (q.get("from") or q.get("to")):
        q = {"from": q["date"], "to": q["date"]}
    period = range_of(q, today=today_local())
    status = q.get("status")
    kind = q.get("kind")
    return LogFilter(
        push_id=parse_id(q.get("push", "")),
        region_ids=regions,
        channel=q.get("channel") or None,
        status=status if status in DeliveryStatus._value2member_map_ else None,
        kind=kind if kind in KINDS else None,
        start=None if period is None else period.start,
        end=None if period is None else period.end,
    )


async def _pushes(session: AsyncSession, f: LogFilter) -> list[int] | None:
    """Ids of the pushes the filter can find rows of (None: any push)."""
    if f.start is None and f.end is None:
        return None if f.push_id is None else [f.push_id]
    query = select(P.id)
    if f.push_id is not None:
        query = query.where(P.id == f.push_id)
    if f.end is not None:  # a push's rows are written after it is
        query = query.where(P.created_at < f.end)
    if f.start is not None:  # and before its planning ends
        query = query.where(or_(P.planned_at.is_(None), P.planned_at >= f.start))
    return list((await session.scalars(query)).all())


async def _pushes_with_queued(session: AsyncSession) -> list[int]:
    """Ids of the pushes that can have queued rows: a fresh row lies in an open claim
    range of its push (:class:`~pusher.models.DeliveryRange`), any other has its time
    set (the claim index). A push that went out has neither, and its rows are not read."""
    fresh = select(R.push_id).where(R.claimed_upto < R.upto_id)
    timed = select(D.push_id).where(
        D.next_attempt_at.is_not(None),
        D.status == literal(DeliveryStatus.QUEUED.value, literal_execute=True),
    )
    return sorted((await session.scalars(union(fresh, timed))).all())  # UNION: each once


async def conditions(session: AsyncSession, f: LogFilter) -> list[ColumnElement[bool]]:
    """The WHERE clauses of the filter (reads the matching push ids when dated)."""
    where: list[ColumnElement[bool]] = []
    pushes = await _pushes(session, f)
    if f.status == DeliveryStatus.QUEUED.value:
        waiting = await _pushes_with_queued(session)
        pushes = waiting if pushes is None else [p for p in pushes if p in waiting]
    if pushes == []:  # no push of the period: nothing to read
        return [false()]
    if pushes is not None:
        where.append(D.push_id.in_(pushes))
    if f.resident_id is not None:  # push by push, never a scan of every delivery
        where.append(D.resident_id == f.resident_id)
        if pushes is None:
            where.append(D.push_id.in_(select(P.id)))
    if f.region_ids is not None:
        pg = session.bind.dialect.name == "postgresql"
        where += _in_regions(sorted(f.region_ids) or [-1], pushes, arrays=pg)
    where += _of_channel(f)
    if f.status:
        # inline, not a bound parameter: a prepared statement's generic plan cannot
        # prove a partial index's predicate (status = 'cancelled') from a parameter
        where.append(D.status == literal(f.status, literal_execute=True))
        if f.status == DeliveryStatus.SENDING.value:  # claimed rows: in the claim index
            where.append(D.next_attempt_at.is_not(None))
    if f.start is not None:
        where.append(D.created_at >= f.start)
    if f.end is not None:
        where.append(D.created_at < f.end)
    return where


def _of_channel(f: LogFilter) -> list[ColumnElement[bool]]:
    """The channel and kind clauses; group-chat rows are found in their own index."""
    where: list[ColumnElement[bool]] = []
    if f.channel:
        where.append(D.channel == f.channel)
    if f.kind == "group" or f.channel in GROUP_CHANNELS:
        where.append(D.group_chat_id.is_not(None))
    elif f.kind == "resident":
        where.append(D.resident_id.is_not(None))
    return where


def _in_regions(
    ids: list[int], pushes: list[int] | None, *, arrays: bool
) -> list[ColumnElement[bool]]:
    """Rows of the regions' residents, probed push by push in the (push, resident) index,
    and their group-chat rows. On PostgreSQL the residents and pushes go in as arrays, so
    the planner sees how few they are (as ``IN`` subqueries it reads every row)."""
    residents = select(Resident.id).where(Resident.region_id.in_(ids))
    every_push = select(P.id)
    if arrays:
        probe = D.resident_id == func.any(func.array(residents.scalar_subquery()))
        of_pushes = D.push_id == func.any(func.array(every_push.scalar_subquery()))
    else:
        probe, of_pushes = D.resident_id.in_(residents), D.push_id.in_(every_push)
    if pushes is not None:
        of_pushes = D.push_id.in_(pushes or [-1])
    rows = select(D.id).where(of_pushes, probe)
    chats = select(D.id).where(D.group_chat_id.is_not(None), D.region_id.in_(ids))
    return [D.id.in_(union_all(rows, chats)), D.region_id.in_(ids)]


def rows_query(
    columns: tuple[Any, ...], where: list[ColumnElement[bool]], *, after: int | None, limit: int
) -> Select[Any]:
    """A page of rows in id order, after the id ``after``; ``columns`` may name the
    resident (``Resident``), the group chat (``GroupChat``, :data:`WHO`) and the row's
    region (:data:`Grid`)."""
    query = (
        select(*columns)
        .select_from(Delivery)
        .outerjoin(Resident, Resident.id == D.resident_id)
        .outerjoin(GroupChat, GroupChat.id == D.group_chat_id)
        .outerjoin(Grid, Grid.id == D.region_id)
        .where(*where)
        .order_by(D.id)
        .limit(limit)
    )
    return query if after is None else query.where(D.id > after)


async def capped_total(session: AsyncSession, where: list[ColumnElement[bool]]) -> int:
    """How many rows match, counted up to :data:`COUNT_CAP` + 1 (more means "over")."""
    some = select(literal(1)).select_from(Delivery).where(*where).limit(COUNT_CAP + 1)
    return int(await session.scalar(select(func.count()).select_from(some.subquery())) or 0)
