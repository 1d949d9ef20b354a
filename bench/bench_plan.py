"""Planning and dispatch throughput at scale, on PostgreSQL and SQLite.

Run: ``pusher bench plan [--quick]`` (or ``.venv/bin/python bench/bench_plan.py [--quick]``).

A town of 1,000,000 residents (100,000 with ``--quick``), built with bulk
inserts (``COPY`` on PostgreSQL, big ``executemany`` transactions on SQLite;
not timed), one region group for the whole town matched to one urgent item.
Timed: :func:`pusher.pipeline.plan.plan_push` writing one delivery row per
resident (rows per second). Then dispatch through the sandbox channel of a
second push (a village of 40,000 residents; 10,000 quick) by one worker, and of
a third by two concurrent ``dispatch()`` calls with different worker ids
(duplicates counted over the sandbox's kept message keys). PostgreSQL gets a
database of its own on the machine's server (dropped afterwards), SQLite a
temporary file.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import ChannelKind, OptOut
from channels.ratelimit import MemoryRateLimiter
from channels.sandbox import SandboxChannel
from pusher.cli.bench import RESIDENT_COLUMNS, scratch_database
from pusher.db import SessionFactory, create_engine, session_factory, transaction
from pusher.models import (
    Delivery,
    Group,
    GroupKind,
    Item,
    ItemMatch,
    ItemStatus,
    Push,
    Region,
    SandboxMessage,
    Urgency,
)
from pusher.ops.metrics import Metrics
from pusher.ops.migrate import upgrade
from pusher.pipeline.dispatch import Dispatcher, dispatch
from pusher.pipeline.plan import plan_push
from pusher.pipeline.receipts import apply_opt_outs
from pusher.runtime.inbox_store import database_sink
from pusher.settings import DispatchSettings, QuietHours


def _resident_rows(region_id: int, count: int, start: int) -> Iterator[tuple[Any, ...]]:
    """Residents: 3 in 5 follow the account, the rest get SMS, 1 in 50 is unreachable."""
    now = datetime.now(UTC).replace(tzinfo=None)
    for n in range(start, start + count):
        follows = n % 5 < 3
        sms = not follows and n % 50 != 4
        phone = f"1{n:010d}" if sms or follows else None
        openid = f"o{n:027d}" if follows else None
        yield (f"居民{n}", region_id, phone, openid, follows, sms, False, False, now)


DISPATCH_ITEMS = ("one", "two_processes", "two_tasks")


async def _places(session: AsyncSession) -> dict[str, Region]:
    town = Region(code="360123101", name="青山镇", kind="town", path="/360123101/")
    session.add(town)
    await session.flush()
    places = {"town": town}
    for key, code in (("big", "360123101001"), ("small", "360123101002")):
        path = f"/360123101/{code}/"
        places[key] = Region(
            code=code, name=f"{key}村", kind="village", parent_id=town.id, path=path
        )
        session.add(places[key])
    await session.flush()
    return places


async def _item(session: AsyncSession, key: str, region_id: int, group_id: int) -> int:
    item = Item(
        title=f"压测通知{key}",
        body="请全体居民注意。",
        publisher="青山镇人民政府",
        region_id=region_id,
        urgency=Urgency.URGENT,
        status=ItemStatus.APPROVED,
    )
    session.add(item)
    await session.flush()
    assert item.id is not None
    session.add(ItemMatch(item_id=item.id, group_id=group_id, reasons=[]))
    return item.id


async def _base_rows(db: SessionFactory) -> dict[str, int]:
    """The town, two villages, a region group each; one town item, three village items."""
    ids: dict[str, int] = {}
    async with transaction(db) as session:
        for key, region in (await _places(session)).items():
            group = Group(name=f"{region.name}全体", kind=GroupKind.REGION, region_id=region.id)
            session.add(group)
            await session.flush()
            ids[f"region_{key}"], ids[f"group_{key}"] = region.id or 0, group.id or 0
        ids["item_plan"] = await _item(session, "plan", ids["region_town"], ids["group_town"])
        for key in DISPATCH_ITEMS:
            ids[f"item_{key}"] = await _item(session, key, ids["region_small"], ids["group_small"])
    return ids


async def _copy_residents(url: str, parts: list[tuple[int, int]]) -> None:
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        start = 0
        for region_id, count in parts:
            await conn.copy_records_to_table(
                "resident",
                records=_resident_rows(region_id, count, start),
                columns=RESIDENT_COLUMNS,
            )
            start += count
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def _insert_residents_sqlite(path: str, parts: list[tuple[int, int]]) -> None:
    conn = sqlite3.connect(path)
    try:
        sql = (
            f"INSERT INTO resident ({', '.join(RESIDENT_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(RESIDENT_COLUMNS))})"
        )
        start = 0
        for region_id, count in parts:
            for offset in range(0, count, 100_000):
                size = min(100_000, count - offset)
                with conn:
                    conn.executemany(sql, _resident_rows(region_id, size, start + offset))
            start += count
        conn.execute("ANALYZE")
    finally:
        conn.close()


async def _build(url: str, db: SessionFactory, residents: int, village: int) -> dict[str, int]:
    await asyncio.to_thread(upgrade, url)
    ids = await _base_rows(db)
    parts = [(ids["region_big"], residents - village), (ids["region_small"], village)]
    if url.startswith("postgresql"):
        await _copy_residents(url, parts)
    else:
        await asyncio.to_thread(_insert_residents_sqlite, url.split(":///", 1)[1], parts)
    return ids


async def _nothing(_push: int, _number: int) -> None:
    return None


def _chunk() -> int:
    """Residents per planning chunk: the service's setting (same variable, same default)."""
    default = DispatchSettings().plan_chunk
    return int(os.environ.get("PUSHER_DISPATCH__PLAN_CHUNK", default))


async def _plan(db: SessionFactory, item_id: int) -> tuple[int, int, float]:
    started = time.perf_counter()
    push_id = await plan_push(
        db,
        item_id,
        chunk=_chunk(),
        span=DispatchSettings().claim_range,
        texts_for=_texts,
        on_chunk=_nothing,
    )
    elapsed = time.perf_counter() - started
    assert push_id is not None
    async with db() as session:
        planned = (await session.get_one(Push, push_id)).planned
    return push_id, planned, elapsed


def _texts(_item: Item) -> dict[str, Any]:
    content = {"text": "【青山镇】请全体居民注意。", "title": "压测通知"}
    return {kind.value: content for kind in ChannelKind}


def _dispatcher(db: SessionFactory, worker: str) -> Dispatcher:
    sink = database_sink(db)
    return Dispatcher(
        db=db,
        channels={kind: SandboxChannel(kind, sink=sink) for kind in ChannelKind},
        limiter=MemoryRateLimiter(),
        metrics=Metrics(),
        settings=DispatchSettings(),
        quiet=QuietHours(start=0, end=0),
        worker=worker,
        clock=lambda: datetime.now(UTC),
    )


async def _dispatch(db: SessionFactory, push_id: int, workers: int, prefix: str) -> int:
    """Send every message of ``push_id`` with ``workers`` concurrent dispatch calls."""
    sent = 0
    for kind in (ChannelKind.WECHAT, ChannelKind.SMS):
        tallies = await asyncio.gather(
            *(dispatch(_dispatcher(db, f"{prefix}-{n}"), push_id, kind) for n in range(workers))
        )
        sent += sum(t.sent for t in tallies)
    return sent


async def _in_tasks(db: SessionFactory, push_id: int, workers: int) -> tuple[int, float]:
    started = time.perf_counter()
    sent = await _dispatch(db, push_id, workers, "task")
    return sent, time.perf_counter() - started


async def _child(url: str, push_id: int, worker: str) -> None:
    """One worker process: say ready, wait for "go" on stdin, dispatch, report."""
    engine = create_engine(url)
    try:
        db = session_factory(engine)
        async with db() as session:  # connect before the clock starts
            await session.scalar(select(func.count()).select_from(Push))
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        sent = await _dispatch(db, push_id, 1, worker)
        print(json.dumps({"sent": sent, "finished": time.time()}), flush=True)
    finally:
        await engine.dispose()


def _output(child: subprocess.Popen[str]) -> str:
    assert child.stdout is not None
    output = child.stdout.read()
    assert child.wait() == 0, f"dispatch child failed ({child.returncode})"
    return output


def _in_processes(url: str, push_id: int, workers: int) -> tuple[int, float]:
    """``workers`` OS processes, as production runs them; timed from a common start."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "--child", url, str(push_id), f"proc-{n}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        for n in range(workers)
    ]
    for child in children:  # imports take seconds on a busy machine: not timed
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    started = time.time()
    for child in children:  # every child goes before any is waited for: they run at once
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.close()
    reports = [json.loads(_output(child).splitlines()[-1]) for child in children]
    return sum(r["sent"] for r in reports), max(r["finished"] for r in reports) - started


async def _duplicates(db: SessionFactory) -> int:
    async with db() as session:
        dup = select(SandboxMessage.key).group_by(SandboxMessage.key).having(func.count() > 1)
        return int(await session.scalar(select(func.count()).select_from(dup.subquery())) or 0)


def _row(backend: str, step: str, rows: int, seconds: float, **more: Any) -> dict[str, Any]:
    per_s = round(rows / seconds) if seconds else None
    return {"backend": backend, "step": step, "rows": rows, "seconds": round(seconds, 2)} | {
        "rows_per_s": per_s,
        **more,
    }


async def _opt_outs(db: SessionFactory, push_id: int, count: int = 20) -> tuple[int, float]:
    """TD replies from ``count`` residents whose SMS of ``push_id`` still waits, one
    transaction each as the uplink callback makes them; returns (cancelled, seconds)."""
    async with db() as session:
        phones = list(
            await session.scalars(
                select(Delivery.recipient)
                .where(Delivery.push_id == push_id, Delivery.channel == ChannelKind.SMS.value)
                .order_by(Delivery.resident_id.desc())
                .limit(count)
            )
        )
    started = time.perf_counter()
    for phone in phones:
        async with transaction(db) as session:
            await apply_opt_outs(session, ChannelKind.SMS, [OptOut(str(phone), "TD")])
    elapsed = time.perf_counter() - started
    async with db() as session:
        opted_out = (Delivery.push_id == push_id, Delivery.error_code == "opted_out")
        cancelled = await session.scalar(select(func.count()).where(*opted_out))
    return int(cancelled or 0), elapsed


async def _measure(backend: str, residents: int, village: int) -> list[dict[str, Any]]:
    async with scratch_database(backend) as url:
        engine = create_engine(url)
        db = session_factory(engine)
        try:
            ids = await _build(url, db, residents, village)
            big, planned, plan_s = await _plan(db, ids["item_plan"])
            cancelled, opt_out_s = await _opt_outs(db, big)
            pushes = {key: (await _plan(db, ids[f"item_{key}"]))[0] for key in DISPATCH_ITEMS}
            one = await asyncio.to_thread(_in_processes, url, pushes["one"], 1)
            two = await asyncio.to_thread(_in_processes, url, pushes["two_processes"], 2)
            tasks = await _in_tasks(db, pushes["two_tasks"], 2)
            duplicates = await _duplicates(db)
        finally:
            await engine.dispose()
    return [
        _row(backend, f"plan ({residents:,} residents)", planned, plan_s, chunk=_chunk()),
        _row(
            backend,
            f"TD replies, one at a time ({planned:,} deliveries)",
            cancelled,
            opt_out_s,
            ms_each=round(1000 * opt_out_s / max(cancelled, 1), 1),
        ),
        _row(backend, "dispatch, 1 worker process", *one),
        _row(backend, "dispatch, 2 worker processes", *two, speedup=round(one[1] / two[1], 2)),
        _row(
            backend,
            "dispatch, 2 workers in 1 process",
            *tasks,
            speedup=round(one[1] / tasks[1], 2),
            duplicates_all_runs=duplicates,
        ),
    ]


def run(*, quick: bool, smoke: bool = False) -> list[dict[str, Any]]:
    """Rows for PostgreSQL and SQLite: plan rate, dispatch rate with one and two workers."""
    shapes = {"smoke": (5_000, 1_000), "quick": (100_000, 10_000), "full": (1_000_000, 40_000)}
    residents, village = shapes["smoke" if smoke else "quick" if quick else "full"]
    rows: list[dict[str, Any]] = []
    for backend in ("postgresql", "sqlite"):
        rows += asyncio.run(_measure(backend, residents, village))
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        url, push, worker = sys.argv[2:5]
        asyncio.run(_child(url, int(push), worker))
    else:
        for row in run(quick="--quick" in sys.argv):
            print(json.dumps(row, ensure_ascii=False))
