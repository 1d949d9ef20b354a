"""Plan: turn an item's matched groups into delivery rows, in set-based chunks.

One ``INSERT … SELECT`` per chunk of resident ids writes every delivery of the
chunk (channel chosen in SQL, duplicates across groups impossible thanks to the
unique (push, resident) constraint). Progress (``Push.planned_upto``) only moves
past chunks that are committed, together with every chunk before them, so a
planning job that runs twice, or resumes after a crash, writes nothing twice,
and dispatch can start on the first chunk while later ones are planned.

Resident rows are written *fresh* (no ``next_attempt_at``), which keeps them
out of every index but the (push, resident) one; the chunk's transaction also
writes its :class:`~pusher.models.DeliveryRange` per channel, through which
dispatch claims them (see :mod:`pusher.pipeline.claims`).

On PostgreSQL two chunks are planned at once on two connections (one
``INSERT … SELECT`` runs on one core), and chunk commits do not wait for the
WAL flush: a chunk lost in a server crash is planned again on resume. The
common path is a plain ``INSERT`` (``ON CONFLICT`` costs a speculative
insertion per row); a chunk whose rows partly exist already, after a resume or
beside a concurrent planner, is retried with ``ON CONFLICT DO NOTHING``.
On SQLite, which plans one chunk at a time, the WAL pages of committed chunks
are copied into the database file on a side connection while the next chunk
is written (:class:`~pusher.db.WalCheckpoints`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Insert, Selectable, Table, case, func, literal, null, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import ChannelKind
from pusher.db import (
    SessionFactory,
    WalCheckpoints,
    refresh_statistics,
    refresh_statistics_if_grown,
    rowcount,
    single_writer,
    transaction,
)
from pusher.models import (
    Delivery,
    DeliveryRange,
    Item,
    ItemMatch,
    ItemStatus,
    Push,
    Region,
    Resident,
    utcnow,
)
from pusher.pipeline.correct import plan_correction
from pusher.pipeline.review import pushable
from subscriptions.audience import Audience, group_chats, load_audience, residents_chunk
from subscriptions.channel import RESIDENT_CHANNELS

log = logging.getLogger(__name__)

OnChunk = Callable[[int, int], Awaitable[None]]
TextsFor = Callable[[Item], dict[str, Any]]
Running = deque[tuple[int, bool, asyncio.Task[None]]]  # (upto, records itself, task)

#: Chunks planned at once on PostgreSQL, which runs each statement on one core
#: (SQLite has a single writer: there a second chunk would only wait).
PARALLEL_CHUNKS = 2
#: The columns planning writes; resident rows and group-chat rows differ in the second.
COLUMNS = ["push_id", "resident_id", "region_id", "channel", "recipient", "status"]
COLUMNS += ["created_at", "next_attempt_at"]
CHAT_COLUMNS = [c if c != "resident_id" else "group_chat_id" for c in COLUMNS] + ["provider"]
#: Tables written per chunk through Core statements, which compile once and are cached.
RANGES: Table = DeliveryRange.__table__
PUSHES: Table = Push.__table__


async def plan_push(
    db: SessionFactory,
    item_id: int,
    *,
    chunk: int,
    texts_for: TextsFor,
    on_chunk: OnChunk,
    span: int = 2_000,
    parallel: int | None = None,
    wechat_consent: bool = False,
) -> int | None:
    """Plan the push of an approved item; returns the push id (None if not pushable).

    ``wechat_consent``: the account sends subscription notices, so WeChat is chosen only
    for followers whose consent is on record (see :mod:`subscriptions.channel`).

    Each chunk's residents are split into claim ranges of ``span`` ids.
    ``parallel`` chunks are planned at once (default: :data:`PARALLEL_CHUNKS`,
    one on SQLite); ``on_chunk(push_id, number)`` runs after each
    chunk is recorded as done, in order, and once more after the last.
    """
    if await _is_correction(db, item_id):  # the first version's audience, not matching
        return await plan_correction(db, item_id, texts_for=texts_for, on_chunk=on_chunk)
    async with transaction(db) as session:
        item = await session.get_one(Item, item_id)
        if not pushable(item):
            log.info("item not pushable", extra={"item_id": item_id, "status": item.status})
            return None
        push = await _get_or_create_push(session, item, texts_for)
        if push.status != "planning":
            return push.id
        groups = list(
            await session.scalars(select(ItemMatch.group_id).where(ItemMatch.item_id == item_id))
        )
        audience = await load_audience(session, item, groups, wechat_consent=wechat_consent)
        first, last_id, chunk, span = await _resident_span(session, audience, chunk, span)
        push_id, done_upto = push.id, push.planned_upto
        assert push_id is not None
        if done_upto == 0 and not audience.empty:
            chats = await session.execute(_insert_chats(session, push_id, audience))
            await _count(session, push_id, rowcount(chats))
        window = parallel or (1 if single_writer(db) else PARALLEL_CHUNKS)
    number, big = 0, False
    if not audience.empty:
        start = max(done_upto, first)
        ranges = [(lo, min(lo + chunk, last_id)) for lo in range(start, last_id, chunk)]
        big = len(ranges) > 1
        chunk_done = _analyzing(db, on_chunk) if big else on_chunk
        number = await _plan_ranges(db, push_id, audience, ranges, window, span, chunk_done)
    await _finish(db, push_id, item_id)
    await on_chunk(push_id, number + 1)
    if big:  # the statistics of what it planned, for its sending
        await refresh_statistics(db, "delivery")
    elif not audience.empty and not single_writer(db):  # one chunk, maybe large for the table
        async with db() as session:
            planned = await session.scalar(select(Push.planned).where(Push.id == push_id))
        await refresh_statistics_if_grown(db, "delivery", planned or 0)
    return push_id


def _analyzing(db: SessionFactory, on_chunk: OnChunk) -> OnChunk:
    """``on_chunk``, then after the first chunk of a big push (its dispatch already
    told) the delivery table's statistics taken again: the claims, outcomes and
    receipts of that chunk are planned with a table the size it has become."""

    async def chunk_done(push_id: int, number: int) -> None:
        await on_chunk(push_id, number)
        if number == 1:
            await refresh_statistics(db, "delivery")

    return chunk_done


async def _resident_span(
    session: AsyncSession, audience: Audience, chunk: int, span: int
) -> tuple[int, int, int, int]:
    """Where the residents of the item's region lie: ``(after, upto, chunk, span)``.

    A region of at most ``chunk`` residents (a small town in a county, a village, a
    grid) is planned as one chunk between its first and last resident and its claim
    ranges are widened to hold about ``span`` of its residents each, so neither planning
    nor dispatch walks the county's other residents or their empty ranges. A larger
    region is planned over every resident id, as before. The count stops at
    ``chunk + 1`` residents (a county's is not counted in full).
    """
    inside = select(Region.id).where(Region.path.startswith(audience.within_path))
    some = select(Resident.id).where(Resident.region_id.in_(inside)).limit(chunk + 1).subquery()
    row = (
        await session.execute(select(func.count(), func.min(some.c.id), func.max(some.c.id)))
    ).one()
    count, low, high = int(row[0]), row[1], row[2]
    if count > chunk:
        return 0, await session.scalar(select(func.max(Resident.id))) or 0, chunk, span
    if not count:
        return 0, 0, chunk, span
    after = int(low) - 1
    width = int(high) - after
    return after, int(high), max(chunk, width), max(span, -(-width * span // count))


async def _is_correction(db: SessionFactory, item_id: int) -> bool:
    async with db() as session:
        return await session.scalar(select(Item.corrects_id).where(Item.id == item_id)) is not None


async def _plan_ranges(
    db: SessionFactory,
    push_id: int,
    audience: Audience,
    ranges: list[tuple[int, int]],
    window: int,
    span: int,
    on_chunk: OnChunk,
) -> int:
    """Plan ``(after, upto]`` ranges, ``window`` at a time; returns how many were done.

    Chunks complete in any order but are recorded in order: progress moves to
    a chunk's end only once it and every earlier chunk are committed.
    """
    running: Running = deque()
    checkpoints = WalCheckpoints(db)
    number = 0
    try:
        for after, upto in ranges:
            if len(running) >= window:
                number = await _record(db, push_id, running.popleft(), number, on_chunk)
                checkpoints.kick()
            alone = not running  # every earlier chunk is recorded: record it with its rows
            task = _plan_chunk(
                db, push_id, audience, after_id=after, upto_id=upto, span=span, own=alone
            )
            running.append((upto, alone, asyncio.create_task(task)))
        while running:
            number = await _record(db, push_id, running.popleft(), number, on_chunk)
    finally:  # on error: let chunks in flight end (committed or not) before raising
        await asyncio.gather(*(task for _, _, task in running), return_exceptions=True)
        await checkpoints.close()
    return number


async def _record(
    db: SessionFactory,
    push_id: int,
    done: tuple[int, bool, asyncio.Task[None]],
    number: int,
    on_chunk: OnChunk,
) -> int:
    """Wait for the oldest chunk, move progress past it, tell ``on_chunk``."""
    upto, recorded, task = done
    await task
    if not recorded:
        async with transaction(db) as session:
            await _fast_commit(session)
            await _count(session, push_id, 0, upto=upto)
    await on_chunk(push_id, number + 1)
    return number + 1


async def _get_or_create_push(session: AsyncSession, item: Item, texts_for: TextsFor) -> Push:
    push = await session.scalar(select(Push).where(Push.item_id == item.id))
    if push is None:
        texts = await asyncio.to_thread(texts_for, item)  # jieba over the notice
        await session.execute(
            _upsert(session, Push)
            .values(item_id=item.id, texts=texts, status="planning")
            .on_conflict_do_nothing()
        )
        push = await session.scalar(select(Push).where(Push.item_id == item.id))
    assert push is not None
    return push


async def _plan_chunk(
    db: SessionFactory,
    push_id: int,
    audience: Audience,
    *,
    after_id: int,
    upto_id: int,
    span: int,
    own: bool,
) -> None:
    """Write the deliveries of residents ``after_id < id <= upto_id`` in one transaction,
    with their claim ranges of ``span`` ids per channel.

    With ``own``, the same transaction moves progress to ``upto_id``.
    """
    source = _chunk_source(push_id, audience, after_id=after_id, upto_id=upto_id)
    ranges = [
        {"push_id": push_id, "channel": kind.value, "after_id": lo, "claimed_upto": lo}
        | {"upto_id": min(lo + span, upto_id)}
        for lo in range(after_id, upto_id, span)
        for kind in RESIDENT_CHANNELS
    ]
    progress = (push_id, upto_id) if own else None
    try:
        await _insert_chunk(db, push_id, source, ranges, guarded=False, progress=progress)
    except IntegrityError:  # some rows exist: planned before a crash, or by a twin job
        log.info("chunk partly planned already", extra={"push_id": push_id, "upto": upto_id})
        await _insert_chunk(db, push_id, source, ranges, guarded=True, progress=progress)


async def _insert_chunk(
    db: SessionFactory,
    push_id: int,
    source: Selectable,
    ranges: list[dict[str, Any]],
    *,
    guarded: bool,
    progress: tuple[int, int] | None,
) -> None:
    """The chunk's rows and its ranges, in one transaction: a range is never seen
    without all of its rows."""
    async with transaction(db) as session:
        await _fast_commit(session)
        insert = _upsert(session, Delivery).from_select(COLUMNS, source)
        written = await session.execute(insert.on_conflict_do_nothing() if guarded else insert)
        count = rowcount(written)
        if count:  # a chunk outside the audience needs no ranges
            core = await session.connection()  # Core executemany: no ORM bulk-insert work
            await core.execute(_upsert(session, RANGES).on_conflict_do_nothing(), ranges)
        await _count(session, push_id, count, upto=None if progress is None else progress[1])


async def _count(
    session: AsyncSession, push_id: int, rows: int, *, upto: int | None = None
) -> None:
    """Add the rows this transaction wrote to the push's planned count (and, with
    ``upto``, move its progress there): the count commits with its rows, so a chunk
    planned again after a crash or by a twin job (which writes only the rows still
    missing) never counts a row twice."""
    values: dict[str, Any] = {"planned": PUSHES.c.planned + rows} if rows else {}
    if upto is not None:
        values |= {"planned_upto": upto, "progress_at": utcnow()}
    if not values:
        return
    core = await session.connection()  # Core: no ORM session synchronisation per chunk
    await core.execute(update(PUSHES).where(PUSHES.c.id == push_id).values(**values))


def _chunk_source(push_id: int, audience: Audience, *, after_id: int, upto_id: int) -> Selectable:
    rows = residents_chunk(audience, after_id=after_id, upto_id=upto_id).subquery()
    now = utcnow()
    return select(
        literal(push_id).label("push_id"),
        rows.c.id,
        rows.c.region_id,
        rows.c.channel,
        rows.c.recipient,
        rows.c.status,
        literal(now, Delivery.__table__.c.created_at.type).label("created_at"),
        null().label("next_attempt_at"),  # fresh: claimed through its range
    ).where(literal(True))


async def _fast_commit(session: AsyncSession) -> None:
    """PostgreSQL: commit without waiting for the WAL flush (planning is re-runnable)."""
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("SET LOCAL synchronous_commit = off"))


def _insert_chats(session: AsyncSession, push_id: int, audience: Audience) -> Insert:
    """One row per matched group chat, of every kind (see :func:`group_chats`): a robot's
    row is due now; a customer group's and a relayed group's carry no time, so dispatch
    and the sweeper never take them."""
    chats = group_chats(audience).subquery()
    now = utcnow()
    due = literal(now, Delivery.__table__.c.next_attempt_at.type)
    source = select(
        literal(push_id).label("push_id"),
        chats.c.id,
        chats.c.region_id,
        chats.c.channel,
        chats.c.recipient,
        chats.c.status,
        literal(now, Delivery.__table__.c.created_at.type).label("created_at"),
        case((chats.c.channel == ChannelKind.WECOM.value, due), else_=null()).label(
            "next_attempt_at"
        ),
        chats.c.provider,
    ).where(literal(True))
    return _upsert(session, Delivery).from_select(CHAT_COLUMNS, source).on_conflict_do_nothing()


async def _finish(db: SessionFactory, push_id: int, item_id: int) -> None:
    async with transaction(db) as session:
        await session.execute(
            update(Push)
            .where(Push.id == push_id, Push.status == "planning")  # not if stopped
            .values(status="dispatching", planned_at=utcnow())
        )
        await session.execute(
            update(Item).where(Item.id == item_id).values(status=ItemStatus.PUSHED)
        )


def _upsert(session: AsyncSession, model: type[Any]) -> Any:
    """The dialect's INSERT that knows ON CONFLICT DO NOTHING."""
    dialect = session.bind.dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(model)
