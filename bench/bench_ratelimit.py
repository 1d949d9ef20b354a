"""How fast the rate limiters decide, and how closely shared workers fill a window.

Run: ``pusher bench ratelimit [--quick]`` (Redis at ``PUSHER_BENCH_REDIS``, default
``redis://127.0.0.1:6379/0``), or ``.venv/bin/python bench/bench_ratelimit.py
[--redis URL]``, which prints one JSON line per measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from collections.abc import Sequence

from redis.asyncio import Redis

from channels.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter

REDIS = os.environ.get("PUSHER_BENCH_REDIS", "redis://127.0.0.1:6379/0")


async def decisions_per_second(limiter: RateLimiter, *, tasks: int, calls: int) -> float:
    """Decisions per second over many buckets (mostly grants), ``tasks`` callers at once."""

    async def caller(n: int) -> None:
        for i in range(calls):
            await limiter.try_acquire(f"robot-{n}-{i % 50}", rate=20, per_seconds=60)

    started = time.perf_counter()
    await asyncio.gather(*(caller(n) for n in range(tasks)))
    return tasks * calls / (time.perf_counter() - started)


async def window_fill(
    limiters: Sequence[RateLimiter], *, rate: int, per: float, each: int
) -> dict[str, float]:
    """Workers sharing one bucket: seconds to grant everything vs the ideal."""
    started = time.monotonic()
    await asyncio.gather(
        *(
            limiter.acquire("one-robot", rate=rate, per_seconds=per)
            for limiter in limiters
            for _ in range(each)
        )
    )
    total = len(limiters) * each
    ideal = (total - 1) // rate * per
    return {"grants": total, "seconds": time.monotonic() - started, "ideal_seconds": ideal}


async def measure(redis_url: str, *, calls: int, each: int) -> list[dict[str, float | str]]:
    """The rows: memory and Redis decisions/s (``calls`` per caller), then 4 workers
    sharing 20 grants/s asking ``each`` times."""
    memory = MemoryRateLimiter()
    rate = await decisions_per_second(memory, tasks=10, calls=calls * 5)
    rows: list[dict[str, float | str]] = [{"limiter": "memory", "decisions_per_second": rate}]
    prefix = f"bench:ratelimit:{uuid.uuid4().hex}:"
    clients = [Redis.from_url(redis_url) for _ in range(4)]
    try:
        shared = [RedisRateLimiter(client, prefix=prefix) for client in clients]
        rate = await decisions_per_second(shared[0], tasks=10, calls=calls)
        rows.append({"limiter": "redis", "decisions_per_second": rate})
        fill = await window_fill(shared, rate=20, per=1.0, each=each)
        rows.append({"limiter": "redis", "workers": 4, **fill})
    finally:
        async for key in clients[0].scan_iter(match=prefix + "*"):
            await clients[0].delete(key)
        for client in clients:
            await client.aclose()
    return rows


def run(*, quick: bool, smoke: bool = False) -> list[dict[str, float | str]]:
    """Decisions per second (memory, Redis) and the shared-window fill."""
    calls, each = (20, 2) if smoke else (200, 15) if quick else (1000, 15)
    return asyncio.run(measure(REDIS, calls=calls, each=each))


async def main(redis_url: str) -> None:
    """Run the full measurements and print them."""
    for row in await measure(redis_url, calls=1000, each=15):
        print(json.dumps(row))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    asyncio.run(main(parser.parse_args().redis))
