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

from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from pusher.web.counters import Counter, MemoryCounter, RedisCounter
from pusher.web.keys import RESOURCES, SETTINGS

WINDOW_SECONDS = 15 * 60
PER_USER = 5
PER_ADDRESS = 20


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
    counter: Counter = (
        MemoryCounter(WINDOW_SECONDS)
        if redis is None
        else RedisCounter(redis, prefix, WINDOW_SECONDS)
    )
    app[THROTTLE] = Throttle(counter)
    yield
