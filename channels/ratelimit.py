"""Rate limiters that keep a provider's "N per window" promise, in one process or many.

Algorithm: a sliding-window log. Each grant is recorded with its time; a new grant
is allowed only while fewer than ``rate`` grants lie in the last ``per_seconds``.
That is the strict reading of WeCom's "20 messages per minute per robot": *no*
window of ``per_seconds`` (wherever it starts) ever holds more than ``rate`` grants.

Why not a token bucket or GCRA: a bucket of burst ``rate`` refilling ``rate`` per
``per_seconds`` grants ``rate`` at once and keeps refilling, so the first window can
hold almost ``2 * rate`` grants; GCRA is only strict with a burst of 1, which
spaces messages evenly (one every 3 s for WeCom) and forbids the short bursts the
provider allows. The log costs one entry per grant in the window (20 for a robot),
which is nothing.

A grant at ``t`` leaves the window at ``t + per_seconds`` exactly: a window is
half-open. Callers talking to a remote provider should widen ``per_seconds`` by a
margin for the network's jitter (the provider counts arrivals, we count grants).

``MemoryRateLimiter`` serves the embedded mode (one process). ``RedisRateLimiter``
runs the same algorithm in one atomic Lua script over a sorted set, on the Redis
server's clock (``TIME``), so any number of workers on any number of machines
together stay within the rate whatever their own clocks say.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis


class RateLimiter(Protocol):
    """Grants permission to act ``rate`` times per ``per_seconds`` for each bucket."""

    async def acquire(self, bucket: str, *, rate: int, per_seconds: float, cost: int = 1) -> float:
        """Wait until ``cost`` grants are allowed, take them; return the seconds waited."""
        ...

    async def try_acquire(
        self, bucket: str, *, rate: int, per_seconds: float, cost: int = 1
    ) -> float:
        """Take ``cost`` grants and return 0 if allowed now, else the seconds to wait.

        A refusal consumes nothing.
        """
        ...


def _check(rate: int, per_seconds: float, cost: int) -> None:
    if rate < 1 or per_seconds <= 0:
        raise ValueError(f"rate must be ≥ 1 and per_seconds > 0, got {rate}/{per_seconds}")
    if not 1 <= cost <= rate:
        raise ValueError(f"cost must be between 1 and rate ({rate}), got {cost}")


async def _acquire_loop(
    limiter: RateLimiter, bucket: str, *, rate: int, per_seconds: float, cost: int
) -> float:
    """Retry ``try_acquire`` until granted, sleeping for the wait it reports."""
    started = time.monotonic()
    while True:
        wait = await limiter.try_acquire(bucket, rate=rate, per_seconds=per_seconds, cost=cost)
        if wait <= 0:
            return time.monotonic() - started
        await asyncio.sleep(wait)


class MemoryRateLimiter:
    """The sliding-window log in this process's memory (embedded mode).

    ``clock`` is injectable so tests can drive time; it must not go backwards.
    Safe for any number of tasks on one event loop (no await inside a check).
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._grants: defaultdict[str, deque[float]] = defaultdict(deque)

    async def acquire(self, bucket: str, *, rate: int, per_seconds: float, cost: int = 1) -> float:
        """Wait until ``cost`` grants are allowed, take them; return the seconds waited."""
        return await _acquire_loop(self, bucket, rate=rate, per_seconds=per_seconds, cost=cost)

    async def try_acquire(
        self, bucket: str, *, rate: int, per_seconds: float, cost: int = 1
    ) -> float:
        """Take ``cost`` grants and return 0 if allowed now, else the seconds to wait."""
        _check(rate, per_seconds, cost)
        now = self._clock()
        grants = self._grants[bucket]
        while grants and grants[0] <= now - per_seconds:
            grants.popleft()
        excess = len(grants) + cost - rate
        if excess <= 0:
            grants.extend([now] * cost)
            return 0.0
        return grants[excess - 1] + per_seconds - now


# KEYS[1] the bucket's sorted set; ARGV: rate, window (µs), cost, unique token.
# Returns 0 when granted, else the microseconds until enough grants leave the window.
_SLIDING_LOG = """
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
local excess = count + cost - rate
if excess <= 0 then
  for i = 1, cost do
    redis.call('ZADD', key, now, ARGV[4] .. ':' .. i)
  end
  redis.call('PEXPIRE', key, math.ceil(window / 1000) + 1000)
  return 0
end
local oldest = redis.call('ZRANGE', key, excess - 1, excess - 1, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
"""


class RedisRateLimiter:
    """The sliding-window log in Redis, shared by every worker on every machine.

    Keys are ``{prefix}{bucket}`` sorted sets that expire on their own once idle.
    """

    def __init__(self, redis: Redis, *, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(_SLIDING_LOG)

    async def acquire(self, bucket: str, *, rate: int, per_seconds: float, cost: int = 1) -> float:
        """Wait until ``cost`` grants are allowed, take them; return the seconds waited."""
        return await _acquire_loop(self, bucket, rate=rate, per_seconds=per_seconds, cost=cost)

    async def try_acquire(
        self, bucket: str, *, rate: int, per_seconds: float, cost: int = 1
    ) -> float:
        """Take ``cost`` grants and return 0 if allowed now, else the seconds to wait."""
        _check(rate, per_seconds, cost)
        window_us = max(1, round(per_seconds * 1_000_000))
        token = uuid.uuid4().hex
        args: list[int | str] = [rate, window_us, cost, token]
        wait_us = await self._script(keys=[self._prefix + bucket], args=args)
        return int(wait_us) / 1_000_000
