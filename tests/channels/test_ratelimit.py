"""Contract tests of the rate limiters: the same promises from memory and from Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from channels.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter

# Local grant times are taken when acquire returns; Redis grants on its own clock
# a round trip earlier, so allow that much slack when checking windows.
SLACK = 0.02


def busiest_window(times: list[float], per_seconds: float) -> int:
    """The most grants any half-open window of ``per_seconds`` holds."""
    times = sorted(times)
    most, start = 0, 0
    for end, at in enumerate(times):
        while times[start] <= at - per_seconds:
            start += 1
        most = max(most, end - start + 1)
    return most


@pytest.fixture(params=["memory", "redis"])
async def clients(request: pytest.FixtureRequest) -> AsyncIterator[list[RateLimiter]]:
    """Three limiter clients sharing one state: three tasks, or three Redis connections."""
    if request.param == "memory":
        shared = MemoryRateLimiter()
        yield [shared, shared, shared]
        return
    prefix = f"test:ratelimit:{uuid.uuid4().hex}:"
    redises = [Redis(host="127.0.0.1", port=6379) for _ in range(3)]
    yield [RedisRateLimiter(redis, prefix=prefix) for redis in redises]
    async for key in redises[0].scan_iter(match=prefix + "*"):
        await redises[0].delete(key)
    for redis in redises:
        await redis.aclose()


async def test_no_window_holds_more_than_rate_across_clients(clients: list[RateLimiter]) -> None:
    rate, per = 4, 0.4
    granted: list[float] = []

    async def client(limiter: RateLimiter) -> None:
        for _ in range(5):
            await limiter.acquire("robot", rate=rate, per_seconds=per)
            granted.append(time.monotonic())

    started = time.monotonic()
    await asyncio.gather(*(client(limiter) for limiter in clients))
    assert len(granted) == 15
    assert busiest_window(granted, per - SLACK) <= rate
    # 15 grants at 4 per window need at least three full windows after the first burst.
    assert time.monotonic() - started >= 3 * per - SLACK


async def test_burst_is_granted_at_once_then_refusals_consume_nothing(
    clients: list[RateLimiter],
) -> None:
    limiter = clients[0]
    for _ in range(3):
        assert await limiter.try_acquire("robot", rate=3, per_seconds=0.5) == 0
    first = await limiter.try_acquire("robot", rate=3, per_seconds=0.5)
    second = await clients[1].try_acquire("robot", rate=3, per_seconds=0.5)
    assert 0 < second <= first <= 0.5
    waited = await clients[2].acquire("robot", rate=3, per_seconds=0.5)
    assert waited == pytest.approx(first, abs=0.1)


async def test_buckets_are_independent(clients: list[RateLimiter]) -> None:
    limiter = clients[0]
    assert await limiter.try_acquire("robot-a", rate=1, per_seconds=10) == 0
    assert await limiter.try_acquire("robot-a", rate=1, per_seconds=10) > 9
    assert await limiter.try_acquire("robot-b", rate=1, per_seconds=10) == 0


async def test_cost_takes_several_grants(clients: list[RateLimiter]) -> None:
    limiter = clients[0]
    assert await limiter.try_acquire("robot", rate=5, per_seconds=10, cost=4) == 0
    assert await limiter.try_acquire("robot", rate=5, per_seconds=10, cost=2) > 9
    assert await limiter.try_acquire("robot", rate=5, per_seconds=10, cost=1) == 0
    with pytest.raises(ValueError):
        await limiter.try_acquire("robot", rate=5, per_seconds=10, cost=6)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@settings(max_examples=200, deadline=None)
@given(
    gaps=st.lists(st.floats(min_value=0, max_value=5, allow_nan=False), max_size=80),
    rate=st.integers(min_value=1, max_value=6),
)
def test_memory_limiter_is_strict_for_any_arrivals(gaps: list[float], rate: int) -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock=clock)
    per = 10.0

    async def arrive() -> list[float]:
        granted: list[float] = []
        for gap in gaps:
            clock.now += gap
            if await limiter.try_acquire("robot", rate=rate, per_seconds=per) == 0:
                granted.append(clock.now)
        return granted

    granted = asyncio.run(arrive())
    assert busiest_window(granted, per) <= rate
    # Strict, not stingy: a request is refused only when the window really is full.
    assert len(granted) >= min(len(gaps), rate)


async def test_memory_limiter_wait_is_exact() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock=clock)
    assert await limiter.try_acquire("robot", rate=1, per_seconds=60) == 0
    clock.now += 45
    assert await limiter.try_acquire("robot", rate=1, per_seconds=60) == 15
    clock.now += 15
    assert await limiter.try_acquire("robot", rate=1, per_seconds=60) == 0
