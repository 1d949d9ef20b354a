"""Login throttling: attempts counted per username and per client address.

An attempt is counted *before* its password is checked, by one atomic increment of both
counters, so twenty guesses sent at once are twenty counts, not twenty checks against a
count that none of them has raised yet. A successful login gives its attempt back. A
username is locked after :data:`PER_USER` attempts in the window from any address; an
address after :data:`PER_ADDRESS` attempts at any usernames. Counts live in Redis when
configured (shared by every web process), else in a bounded in-process table.

The client address comes from :func:`pusher.web.clients.client_address`.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web
from redis.asyncio import Redis

from pusher.web.keys import RESOURCES, SETTINGS

WINDOW_SECONDS = 15 * 60
PER_USER = 5
PER_ADDRESS = 20
MAX_ENTRIES = 100_000


class Counter(Protocol):
    """Counts in a fixed window per key."""

    async def add(self, keys: Sequence[str], amount: int) -> list[int]:
        """Add ``amount`` to every key at once; their counts afterwards."""
        ...


@dataclass
class MemoryCounter:
    """In-process counts (one web process): a lock around each read-modify-write."""

    clock: Callable[[], float] = time.monotonic
    max_entries: int = MAX_ENTRIES
    table: OrderedDict[str, tuple[float, int]] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def add(self, keys: Sequence[str], amount: int) -> list[int]:
        with self.lock:
            now = self.clock()
            return [self._add(key, amount, now) for key in keys]

    def _add(self, key: str, amount: int, now: float) -> int:
        expires, count = self.table.pop(key, (now + WINDOW_SECONDS, 0))
        if expires <= now:
            expires, count = now + WINDOW_SECONDS, 0
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

    async def add(self, keys: Sequence[str], amount: int) -> list[int]:
        async with self.redis.pipeline(transaction=True) as pipe:
            for key in keys:
                pipe.set(f"{self.prefix}:{key}", 0, nx=True, ex=WINDOW_SECONDS)
                pipe.incrby(f"{self.prefix}:{key}", amount)
            results = await pipe.execute()
        return [max(int(n), 0) for n in results[1::2]]


@dataclass(frozen=True)
class Attempt:
    """One counted login attempt: the counts after it, and whether it may go on."""

    user_count: int
    address_count: int

    @property
    def allowed(self) -> bool:
        return self.user_count <= PER_USER and self.address_count <= PER_ADDRESS

    @property
    def left(self) -> int:
        """Tries this username has left in the window."""
        return max(PER_USER - self.user_count, 0)


@dataclass
class Throttle:
    """Counts login attempts per username and per client address on ``counter``."""

    counter: Counter

    async def attempt(self, username: str, address: str) -> Attempt:
        """Count one attempt for ``username`` from ``address``."""
        user, addr = await self.counter.add(_keys(username, address), 1)
        return Attempt(user, addr)

    async def succeeded(self, username: str, address: str) -> None:
        """Give back the attempt of a login that succeeded."""
        await self.counter.add(_keys(username, address), -1)


def _keys(username: str, address: str) -> list[str]:
    return [f"user:{username[:64]}", f"addr:{address}"]


THROTTLE = web.AppKey("console_throttle", Throttle)


async def throttle_ctx(app: web.Application) -> AsyncIterator[None]:
    """The login throttle: Redis when configured, else in process."""
    redis = app[RESOURCES].redis
    prefix = f"{app[SETTINGS].queue_name}:login"
    counter: Counter = MemoryCounter() if redis is None else RedisCounter(redis, prefix)
    app[THROTTLE] = Throttle(counter)
    yield
