"""Counts per key in a fixed window, shared by every web process through Redis when it is
configured, else kept in a bounded in-process table. Login throttling and the short-link
rate both count with these."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from redis.asyncio import Redis

MAX_ENTRIES = 100_000


class Counter(Protocol):
    """Counts in a fixed window per key."""

    async def add(self, keys: Sequence[str], amount: int) -> list[int]:
        """Add ``amount`` to every key at once; their counts afterwards."""
        ...


@dataclass
class MemoryCounter:
    """In-process counts (one web process): a lock around each read-modify-write; the
    least recently counted keys are dropped beyond ``max_entries``."""

    window: float
    clock: Callable[[], float] = time.monotonic
    max_entries: int = MAX_ENTRIES
    table: OrderedDict[str, tuple[float, int]] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def add(self, keys: Sequence[str], amount: int) -> list[int]:
        with self.lock:
            now = self.clock()
            return [self._add(key, amount, now) for key in keys]

    def _add(self, key: str, amount: int, now: float) -> int:
        expires, count = self.table.pop(key, (now + self.window, 0))
        if expires <= now:
            expires, count = now + self.window, 0
        count = max(count + amount, 0)
        self.table[key] = (expires, count)
        while len(self.table) > self.max_entries:
            self.table.popitem(last=False)  # the least recently counted key
        return count


@dataclass
class RedisCounter:
    """Counts shared by every web process: ``SET NX EX`` then ``INCRBY`` in one MULTI."""

    redis: Redis
    prefix: str
    window: int

    async def add(self, keys: Sequence[str], amount: int) -> list[int]:
        async with self.redis.pipeline(transaction=True) as pipe:
            for key in keys:
                pipe.set(f"{self.prefix}:{key}", 0, nx=True, ex=self.window)
                pipe.incrby(f"{self.prefix}:{key}", amount)
            results = await pipe.execute()
        return [max(int(n), 0) for n in results[1::2]]
