"""The delivery log with a million deliveries: each filter's page, p50 and p95.

Run: ``pusher bench deliverylog [--quick]`` (or ``.venv/bin/python bench/bench_deliverylog.py``).

A scratch PostgreSQL database on the machine's server. A county-sized town of 200
villages of 5 grids (as in ``bench county``),
1,000,000 residents (200,000 with ``--quick``) imported grid by grid (each grid's
residents have consecutive ids, as a roster import gives them), a village group chat
each. One urgent item for the whole town is planned by
:func:`pusher.pipeline.plan.plan_push` (a million rows), a second one for one village the
next day; then the first push's rows are given the outcomes of a push that went out
(92 % delivered, 2 % sent without receipt, 1 % failed, 1 % confirmed, the unreachable
as planned) and are dated the day before, and the push is closed as dispatch closes
one whose rows are all settled (status done, its claim ranges deleted). Timed, for
each filter the page offers (village, grid, channel, status, date range, a grid
worker's scope, a push, and some together): what the page does, i.e. the push ids of
the period, the first page of 100 rows with names and the total counted up to the
cap, ``ROUNDS`` times; and the page after one from the middle of the log (keyset).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from channels.base import ChannelKind
from pusher.cli.bench import RESIDENT_COLUMNS, scratch_database
from pusher.db import SessionFactory, create_engine, session_factory, transaction
from pusher.models import (
    Delivery,
    Group,
    GroupChat,
    GroupKind,
    Item,
    ItemMatch,
    ItemStatus,
    Region,
    Resident,
    Urgency,
)
from pusher.ops.migrate import upgrade
from pusher.pipeline.plan import plan_push
from pusher.settings import DispatchSettings
from pusher.web.delivery_log import (
    Grid,
    LogFilter,
    capped_total,
    conditions,
    log_filter,
    regions_under,
    rows_query,
)

ROUNDS = 20
PAGE = 100
VILLAGES, GRIDS = 200, 5
SHAPES = {"full": 1_000_000, "quick": 200_000, "smoke": 2_000}
TOWN = "360123101"
#: The page's columns: the row, the resident's name and the grid's name.
COLUMNS = (Delivery, Resident.name, Grid.name)


@dataclass(frozen=True)
class Case:
    name: str
    query: dict[str, str]
    scope: str | None = None  # a grid worker's grid code


def _cases(day: str, next_day: str) -> list[Case]:
    village, grid = f"{TOWN}003", f"{TOWN}00302"
    cases = [
        Case("no filter", {}),
        Case("village", {"village": village}),
        Case("grid", {"grid": grid}),
        Case("grid worker (own grid)", {}, scope=grid),
        Case("grid worker, status failed", {"status": "failed"}, scope=grid),
        Case("date: the big push's day", {"from": day, "to": day}),
        Case("date: the next day", {"from": next_day, "to": next_day}),
        Case("date: a month with nothing", {"from": "2020-01-01", "to": "2020-01-31"}),
        Case("push", {"push": "1"}),
        Case("push + grid + status failed", {"push": "1", "grid": grid, "status": "failed"}),
    ]
    cases += [Case(f"channel {c.value}", {"channel": c.value}) for c in ChannelKind]
    cases += [Case(f"status {s}", {"status": s}) for s in _STATUSES]
    return cases


_STATUSES = (
    "queued",
    "sending",
    "sent",
    "delivered",
    "failed",
    "unreachable",
    "confirmed",
    "cancelled",
)


def _residents(grids: list[int], count: int) -> Iterator[tuple[Any, ...]]:
    now = datetime.now(UTC).replace(tzinfo=None)
    per = -(-count // len(grids))
    for n in range(count):
        follows, sms = n % 20 < 12, n % 20 < 19
        phone = f"1{n:010d}" if sms else None
        openid = f"o{n:027d}" if follows else None
        yield (f"居民{n}", grids[n // per], phone, openid, follows, sms, False, False, now)


async def _town(db: SessionFactory) -> tuple[list[int], list[int]]:
    """Regions, chats, groups and two approved urgent items; (grid ids, item ids)."""
    async with transaction(db) as session:
        town = Region(code=TOWN, name="青山镇", kind="town", path=f"/{TOWN}/")
        session.add(town)
        await session.flush()
        villages, grids = [], []
        for v in range(1, VILLAGES + 1):
            code = f"{TOWN}{v:03d}"
            village = Region(
                code=code, name=f"{v}村", kind="village", parent_id=town.id, path=f"/{TOWN}/{code}/"
            )
            session.add(village)
            await session.flush()
            villages.append(village)
            session.add(GroupChat(name=f"{v}村村民群", region_id=village.id or 0, robot_key="k"))
            for g in range(1, GRIDS + 1):
                gcode = f"{code}{g:02d}"
                grid = Region(
                    code=gcode,
                    name=f"{v}村第{g}网格",
                    kind="grid",
                    parent_id=village.id,
                    path=f"{village.path}{gcode}/",
                )
                session.add(grid)
                grids.append(grid)
        await session.flush()
        items = []
        for region in (town, villages[0]):
            group = Group(name=f"{region.name}全体", kind=GroupKind.REGION, region_id=region.id)
            session.add(group)
            await session.flush()
            item = Item(
                title="压测通知",
                body="请全体居民注意。",
                publisher="青山镇人民政府",
                region_id=region.id or 0,
                urgency=Urgency.URGENT,
                status=ItemStatus.APPROVED,
            )
            session.add(item)
            await session.flush()
            session.add(ItemMatch(item_id=item.id or 0, group_id=group.id or 0, reasons=[]))
            items.append(item.id or 0)
    return [g.id or 0 for g in grids], items


async def _copy(url: str, grids: list[int], count: int) -> None:
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.copy_records_to_table(
            "resident", records=_residents(grids, count), columns=RESIDENT_COLUMNS
        )
        await conn.execute("ANALYZE resident")
    finally:
        await conn.close()


async def _nothing(_push: int, _number: int) -> None:
    return None


def _texts(_item: Item) -> dict[str, Any]:
    return {kind.value: {"text": "【青山镇】请注意。"} for kind in ChannelKind}


async def _plan(db: SessionFactory, item_id: int) -> float:
    started = time.perf_counter()
    d = DispatchSettings()
    await plan_push(
        db, item_id, chunk=d.plan_chunk, span=d.claim_range, texts_for=_texts, on_chunk=_nothing
    )
    return time.perf_counter() - started


async def _outcomes(db: SessionFactory, day: datetime) -> None:
    """The big push went out the day before: outcomes as a real push leaves them."""
    async with transaction(db) as session:
        await session.execute(
            text(
                "UPDATE delivery SET created_at = :day, status = CASE WHEN status <> 'queued'"
                " THEN status WHEN id % 100 < 2 THEN 'sent' WHEN id % 100 = 2 THEN 'failed'"
                " WHEN id % 100 = 3 THEN 'confirmed' ELSE 'delivered' END,"
                " sent_at = :day, done_at = :day WHERE push_id = 1"
            ),
            {"day": day},
        )
        # and closed as dispatch closes a push whose rows are all settled
        await session.execute(
            text(
                "UPDATE push SET created_at = :day, planned_at = :day, status = 'done' WHERE id = 1"
            ),
            {"day": day},
        )
        await session.execute(text("DELETE FROM delivery_range WHERE push_id = 1"))


async def _vacuum(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("VACUUM ANALYZE delivery")
        await conn.execute("ANALYZE push")
    finally:
        await conn.close()


async def _filter(db: SessionFactory, case: Case) -> LogFilter:
    """The page's filter, as the console builds it (a grid worker: their grid's scope)."""
    async with db() as session:
        scope = None if case.scope is None else await regions_under(session, case.scope)
        return await log_filter(session, case.query, scope)


async def _page(db: SessionFactory, f: LogFilter, after: int | None) -> tuple[int, int, float]:
    started = time.perf_counter()
    async with db() as session:
        where = await conditions(session, f)
        rows = (await session.execute(rows_query(COLUMNS, where, after=after, limit=PAGE))).all()
        total = await capped_total(session, where)
    return len(rows), total, (time.perf_counter() - started) * 1000


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


async def _time(db: SessionFactory, case: Case, middle: int) -> dict[str, Any]:
    f = await _filter(db, case)
    firsts, nexts, rows, total = [], [], 0, 0
    for _ in range(ROUNDS):
        rows, total, ms = await _page(db, f, None)
        firsts.append(ms)
        nexts.append((await _page(db, f, middle))[2])
    return {
        "filter": case.name,
        "rows": rows,
        "total_capped": total,
        "first_p50_ms": round(statistics.median(firsts), 1),
        "first_p95_ms": _ms(firsts, 0.95),
        "middle_p50_ms": round(statistics.median(nexts), 1),
        "middle_p95_ms": _ms(nexts, 0.95),
    }


async def _measure(residents: int) -> list[dict[str, Any]]:
    async with scratch_database("postgresql") as url:
        await asyncio.to_thread(upgrade, url)
        engine = create_engine(url)
        db = session_factory(engine)
        try:
            grids, items = await _town(db)
            await _copy(url, grids, residents)
            plan_s = await _plan(db, items[0])
            yesterday = datetime.now(UTC) - timedelta(days=1)
            await _outcomes(db, yesterday)
            await _plan(db, items[1])
            await _vacuum(url)
            async with db() as session:
                count = int(await session.scalar(text("SELECT count(*) FROM delivery")) or 0)
                middle = int(await session.scalar(text("SELECT max(id) / 2 FROM delivery")) or 0)
            day = (yesterday + timedelta(hours=8)).date()  # Beijing days
            cases = _cases(day.isoformat(), (day + timedelta(days=1)).isoformat())
            rows = [await _time(db, case, middle) for case in cases]
        finally:
            await engine.dispose()
    for row in rows:
        row["deliveries"] = count
    rows[0]["plan_s"] = round(plan_s, 2)
    return rows


def run(*, quick: bool, smoke: bool = False) -> list[dict[str, Any]]:
    """One row per filter: the first page and a page from the middle, p50 and p95."""
    residents = SHAPES["smoke" if smoke else "quick" if quick else "full"]
    return asyncio.run(_measure(residents))


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv, smoke="--smoke" in sys.argv):
        print(json.dumps(row, ensure_ascii=False))
