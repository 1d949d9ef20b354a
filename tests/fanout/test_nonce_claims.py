"""Callback nonces in Redis: concurrent claims share round trips, and a pair is claimed once."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from redis.asyncio import Redis

from pusher.web.nonces import RedisNonces

pytestmark = pytest.mark.production


def _counting(redis: Redis) -> list[Any]:
    """Record every command the client sends on its own (a pipeline's are not among them)."""
    sent: list[Any] = []
    plain = redis.execute_command

    async def execute_command(*args: Any, **options: Any) -> Any:
        sent.append(args[0])
        return await plain(*args, **options)

    redis.execute_command = execute_command  # type: ignore[method-assign]
    return sent


async def test_concurrent_claims_go_to_redis_together(redis_client: Redis) -> None:
    nonces = RedisNonces(redis_client, ttl_seconds=60, prefix=f"pusher:test:{uuid.uuid4().hex}:")
    sent = _counting(redis_client)
    keys = [f"k{n}" for n in range(300)]
    claimed = await asyncio.gather(*(nonces.claim(k) for k in keys))
    assert all(claimed)
    # one round trip per callback capped a large push's callbacks; a few pipelines now
    assert sent == []
    assert not any(await asyncio.gather(*(nonces.claim(k) for k in keys[:50])))


async def test_a_pair_claimed_twice_at_once_is_taken_once(redis_client: Redis) -> None:
    nonces = RedisNonces(redis_client, ttl_seconds=60, prefix=f"pusher:test:{uuid.uuid4().hex}:")
    claimed = await asyncio.gather(*(nonces.claim("same") for _ in range(5)))
    assert sorted(claimed) == [False, False, False, False, True]
    await nonces.release("same")
    assert await nonces.claim("same")  # released (not applied): the provider's retry passes
