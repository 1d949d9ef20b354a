"""Watching the event loop while work runs: how long the loop was held between two ticks.

Two measures per tick of :data:`TICK` seconds, the worst of each kept:

- ``cpu``: CPU seconds the loop's own thread spent between two ticks, less the garbage
  collections that ran on it. Work done on the loop shows here whatever the machine's
  load; work in another thread does not. A collection runs on whichever thread allocates
  when a generation's threshold is crossed, and its length depends on what the whole
  process holds (a full test run's leftovers, the tokenizer another thread just built),
  not on the code watched; it is kept apart in ``gc``.
- ``stalled``: how late the tick came, minus the time the loop's thread waited for a
  CPU (``/proc/thread-self/schedstat``, Linux). What is left is the loop's own work and
  any wait it made *without* being runnable: a C library that runs its own threads and
  joins them (argon2 hashes on four lanes: the caller's CPU time shows a tenth of it),
  a lock, a file read. ``None`` where the kernel does not say.
- ``gc``: the longest garbage collection seen on the loop's thread, in CPU seconds.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
TICK = 0.005
_SCHEDSTAT = Path("/proc/thread-self/schedstat")


@dataclass(frozen=True)
class Held:
    """The worst hold of the event loop seen between two ticks, in seconds."""

    cpu: float
    stalled: float | None
    gc: float = 0.0


def _queued() -> float | None:
    """Seconds this thread has waited, runnable, for a CPU (None where unknown)."""
    try:
        return int(_SCHEDSTAT.read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


class _Collections:
    """CPU seconds the loop's thread spent in garbage collection, added up as they end."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()
        self.total = 0.0
        self.longest = 0.0
        self._started: float | None = None

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if threading.get_ident() != self.thread:
            return
        if phase == "start":
            self._started = time.thread_time()
        elif self._started is not None:
            spent = time.thread_time() - self._started
            self.total += spent
            self.longest = max(self.longest, spent)
            self._started = None


async def watch(work: Awaitable[T]) -> tuple[T, Held]:
    """Run ``work`` while a ticker measures how long the loop was held at worst."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    collections = _Collections()
    gc.callbacks.append(collections)
    cpu, stalled, known = 0.0, 0.0, _queued() is not None
    try:
        while not task.done():
            start, busy, queued = loop.time(), time.thread_time(), _queued()
            collected = collections.total
            await asyncio.sleep(TICK)
            in_gc = collections.total - collected
            cpu = max(cpu, time.thread_time() - busy - in_gc)
            now_queued = _queued()
            if queued is not None and now_queued is not None:
                late = loop.time() - start - TICK - in_gc
                stalled = max(stalled, late - (now_queued - queued))
    finally:
        gc.callbacks.remove(collections)
    return await task, Held(cpu, stalled if known else None, collections.longest)
