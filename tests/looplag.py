"""Watching the event loop while work runs: how long the loop was held between two ticks.

Two measures per tick of :data:`TICK` seconds, the worst of each kept:

- ``cpu``: CPU seconds the loop's own thread spent between two ticks. Work done on the
  loop shows here whatever the machine's load; work in another thread does not.
- ``stalled``: how late the tick came, minus the time the loop's thread waited for a
  CPU (``/proc/thread-self/schedstat``, Linux). What is left is the loop's own work and
  any wait it made *without* being runnable: a C library that runs its own threads and
  joins them (argon2 hashes on four lanes: the caller's CPU time shows a tenth of it),
  a lock, a file read. ``None`` where the kernel does not say.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
TICK = 0.005
_SCHEDSTAT = Path("/proc/thread-self/schedstat")


@dataclass(frozen=True)
class Held:
    """The worst hold of the event loop seen between two ticks, in seconds."""

    cpu: float
    stalled: float | None


def _queued() -> float | None:
    """Seconds this thread has waited, runnable, for a CPU (None where unknown)."""
    try:
        return int(_SCHEDSTAT.read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


async def watch(work: Awaitable[T]) -> tuple[T, Held]:
    """Run ``work`` while a ticker measures how long the loop was held at worst."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    cpu, stalled, known = 0.0, 0.0, _queued() is not None
    while not task.done():
        start, busy, queued = loop.time(), time.thread_time(), _queued()
        await asyncio.sleep(TICK)
        cpu = max(cpu, time.thread_time() - busy)
        now_queued = _queued()
        if queued is not None and now_queued is not None:
            late = loop.time() - start - TICK
            stalled = max(stalled, late - (now_queued - queued))
    return await task, Held(cpu, stalled if known else None)
