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
from typing import Protocol

from redis.asyncio import Redis

from pusher.web.counters import MAX_ENTRIES, MemoryCounter, RedisCounter

#: Seconds in which a second open by the same visitor of the same link is not counted.
DEDUPE_SECONDS = 3600
#: The rate is counted over this many seconds.
RATE_SECONDS = 60


class OpenGate(Protocol):
    """Decides whether an open is counted."""

    async def admit(self, *, address: str, visitor: str, link: str) -> bool:
        """True when this open of ``link`` should be counted."""
        ...


@dataclass
class MemoryGate:
    """In-process gate (embedded mode): a bounded table of visitors seen, oldest dropped
    first, and the address rate on an in-process counter."""

    rate: int
    clock: Callable[[], float] = time.monotonic
    max_entries: int = MAX_ENTRIES
    seen: OrderedDict[str, float] = field(default_factory=OrderedDict)  # key → expiry

    def __post_init__(self) -> None:
        self.counts = MemoryCounter(RATE_SECONDS, clock=self.clock, max_entries=self.max_entries)

    async def admit(self, *, address: str, visitor: str, link: str) -> bool:
        now = self.clock()
        self._expire(now)
        key = f"{visitor}|{link}"
        if key in self.seen or (await self.counts.add([address], 1))[0] > self.rate:
            return False
        self.seen[key] = now + DEDUPE_SECONDS
        while len(self.seen) > self.max_entries:
            self.seen.popitem(last=False)
        return True

    def _expire(self, now: float) -> None:
        # expiries are in insertion order (one constant window), so only the front expires
        while self.seen and next(iter(self.seen.values())) <= now:
            self.seen.popitem(last=False)


@dataclass
class RedisGate:
    """Gate shared by every web process (production): ``SET NX EX`` for visitors seen,
    the address rate on a Redis counter."""

    redis: Redis
    rate: int
    prefix: str

    async def admit(self, *, address: str, visitor: str, link: str) -> bool:
        seen = f"{self.prefix}:seen:{visitor}:{link}"
        if not await self.redis.set(seen, 1, nx=True, ex=DEDUPE_SECONDS):
            return False
        counter = RedisCounter(self.redis, f"{self.prefix}:rate", RATE_SECONDS)
        if (await counter.add([address], 1))[0] > self.rate:
            await self.redis.delete(seen)  # not counted: a later open may still be
            return False
        return True
