"""Recompiling a county's rules never stalls the event loop: parsing and compiling both
run in a thread, and the rules are read from the database in pages.

Three measures: how late a ticking task wakes (wall clock), how much CPU the loop's own
thread spent between two ticks (work done on the loop, whatever the machine's load),
and the longest garbage collection (a pause of every thread). On a machine busier than
its cores the wall clock also counts time the OS gave to other processes, so there only
the two others are asserted.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlmodel import SQLModel

from pusher.db import SessionFactory, create_engine, session_factory
from pusher.models import Group, Rule
from pusher.pipeline.rulebook import Rulebook
from rules import ItemText, Tokenizer

RULES = 20_000
TICK = 0.005
MAX_LAG = 0.1  # seconds the loop may be late; parsing 20,000 rules on it takes longer
MAX_PAUSE = 0.05  # seconds one garbage collection may hold every thread
# CPU seconds the loop's thread may work between two ticks: reading a page of rules takes
# under 10 ms, parsing the 20,000 rules on the loop about 100 ms.
MAX_BUSY = 0.05
COUNTY = "3601"


VILLAGES = RULES // 20  # a county has about 20 rules per village
TOPICS = ("停水", "停电", "低保", "补贴", "医保", "养老", "征兵", "防汛", "疫苗", "修路")


def _name(village: int) -> str:
    """A village name of two Han characters, one for each village."""
    return chr(0x4E00 + village % 100) + chr(0x4F00 + village // 100) + "村"


def _region(village: int) -> str:
    return f"{COUNTY}{village:04d}"


def _expression(i: int) -> str:
    """Rule ``i``: each text differs (no parsed clause is reused), keywords repeat."""
    village, k = i % VILLAGES, i // VILLAGES
    first, second = TOPICS[k % 10], TOPICS[(k // 10 + k + 1) % 10]
    return f"{_name(village)}{first} | {second}{k} & !招聘 & region:{_region(village)}"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[SessionFactory]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'rules.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    yield session_factory(engine)
    await engine.dispose()


async def _county_rules(db: SessionFactory) -> int:
    async with db() as session, session.begin():
        group = Group(name="全县", kind="region")
        session.add(group)
        await session.flush()
        assert group.id is not None
        now = datetime.now(UTC)
        rows = [
            {"group_id": group.id, "expression": _expression(i), "updated_at": now}
            for i in range(RULES)
        ]
        await session.execute(insert(Rule), rows)
        return group.id


async def _worst_lag(stop: asyncio.Event) -> tuple[float, float]:
    """How late a task sleeping ``TICK`` at a time woke up, and the loop thread's CPU
    time between two ticks, at worst."""
    loop = asyncio.get_running_loop()
    late = busy = 0.0
    while not stop.is_set():
        start, cpu = loop.time(), time.thread_time()
        await asyncio.sleep(TICK)
        late = max(late, loop.time() - start - TICK)
        busy = max(busy, time.thread_time() - cpu)
    return late, busy


@contextmanager
def _longest_collection() -> Iterator[list[float]]:
    """The durations of every garbage collection inside, longest first when done."""
    began: list[float] = []
    took: list[float] = []

    def watch(phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            began.append(time.perf_counter())
        elif began:
            took.append(time.perf_counter() - began.pop())

    gc.callbacks.append(watch)
    try:
        yield took
    finally:
        gc.callbacks.remove(watch)
        took.sort(reverse=True)


def _overloaded() -> bool:
    return os.getloadavg()[0] > (os.cpu_count() or 1)


async def test_recompiling_20000_rules_keeps_the_loop_running(
    db: SessionFactory, tokenizer: Tokenizer, tmp_path: Path
) -> None:
    group_id = await _county_rules(db)
    # The tokenizer is built already (no regions in this database): only the rules compile.
    rulebook = Rulebook(cache_dir=tmp_path, tokenizer=tokenizer, region_count=0)
    stop = asyncio.Event()
    ticker = asyncio.create_task(_worst_lag(stop))
    await asyncio.sleep(TICK)
    with _longest_collection() as collections:
        async with db() as session:
            matcher = await rulebook.current(session)
    stop.set()
    late, busy = await ticker

    assert len(matcher) == RULES
    village = 345
    title = f"{_name(village)}停水通知"
    item = ItemText("1", title, "", region_path=(COUNTY, _region(village)))
    (found,) = matcher.match(item)
    assert found.group == str(group_id)
    assert {r.keyword for r in found.reasons} == {title[:5]}
    assert busy < MAX_BUSY, f"the event loop's thread worked {busy * 1000:.0f} ms at once"
    pause = collections[0] if collections else 0.0
    assert pause < MAX_PAUSE, f"a garbage collection held every thread {pause * 1000:.0f} ms"
    if not _overloaded():
        assert late < MAX_LAG, f"the event loop stalled for {late * 1000:.0f} ms"
