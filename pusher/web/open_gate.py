"""Which short-link opens are counted: one per visitor, item and village in a window,
and at most ``rate`` a minute from one client address.

The gate only decides whether an open is *counted*; the redirect is answered either
way, so no resident is ever kept from a notice. A visitor is the ``pv`` cookie the
short link sets (residents behind one carrier NAT share an address, not a cookie),
else the address. Two backends with one contract: Redis when configured (shared by
every web process), else a bounded in-process table.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from redis.asyncio import Redis

#: Seconds in which a second open by the same visitor of the same link is not counted.
DEDUPE_SECONDS = 3600
#: The rate is counted over this many seconds.
RATE_SECONDS = 60
#: Entries the in-process table keeps at most (oldest dropped first).
MAX_ENTRIES = 100_000
V = TypeVar("V")


class OpenGate(Protocol):
    """Decides whether an open is counted."""

    async def admit(self, *, address: str, visitor: str, link: str) -> bool:
        """True when this open of ``link`` should be counted."""
        ...


@dataclass
class MemoryGate:
    """In-process gate (embedded mode): two bounded tables, oldest entries dropped first."""

    rate: int
    clock: Callable[[], float] = time.monotonic
    max_entries: int = MAX_ENTRIES
    seen: OrderedDict[str, float] = field(default_factory=OrderedDict)  # key → expiry
    counts: OrderedDict[str, tuple[float, int]] = field(default_factory=OrderedDict)

    async def admit(self, *, address: str, visitor: str, link: str) -> bool:
        now = self.clock()
        self._expire(now)
        key = f"{visitor}|{link}"
        if key in self.seen or not self._within_rate(address, now):
            return False
        self.seen[key] = now + DEDUPE_SECONDS
        _bound(self.seen, self.max_entries)
        return True

    def _expire(self, now: float) -> None:
        # expiries are in insertion order (one constant window), so only the front expires
        while self.seen and next(iter(self.seen.values())) <= now:
            self.seen.popitem(last=False)

    def _within_rate(self, address: str, now: float) -> bool:
        start, used = self.counts.pop(address, (now, 0))
        if now - start >= RATE_SECONDS:
            start, used = now, 0
        self.counts[address] = (start, used + 1 if used < self.rate else used)
        _bound(self.counts, self.max_entries)
        return used < self.rate


def _bound(table: OrderedDict[str, V], size: int) -> None:
    while len(table) > size:
        table.popitem(last=False)


@dataclass
class RedisGate:
    """Gate shared by every web process (production): ``SET NX EX`` and ``INCR``."""

    redis: Redis
    rate: int
    prefix: str

    async def admit(self, *, address: str, visitor: str, link: str) -> bool:
        seen = f"{self.prefix}:seen:{visitor}:{link}"
        if not await self.redis.set(seen, 1, nx=True, ex=DEDUPE_SECONDS):
            return False
        minute = int(time.time() // RATE_SECONDS)
        counter = f"{self.prefix}:rate:{address}:{minute}"
        used = int(await self.redis.incr(counter))
        if used == 1:
            await self.redis.expire(counter, RATE_SECONDS * 2)
        if used > self.rate:
            await self.redis.delete(seen)  # not counted: a later open may still be
            return False
        return True
