"""Callback nonces in Redis: concurrent claims share round trips, and a pair is claimed once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
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


class _MemoryNonces:
    """A fallback store that remembers in a set (the database's, in the application)."""

    def __init__(self) -> None:
        self.keys: set[str] = set()

    async def claim(self, key: str) -> bool:
        if key in self.keys:
            return False
        self.keys.add(key)
        return True

    async def release(self, key: str) -> None:
        self.keys.discard(key)

    async def held(self, keys: Sequence[str]) -> set[str]:
        return self.keys & set(keys)


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_claims_go_to_the_fallback_while_redis_is_down_and_stay_claimed_after(
    redis_client: Redis,
) -> None:
    """A Redis restart must not refuse every callback (WeChat gives an event three tries
    within seconds: its receipt would be lost), nor open a replay once Redis is back."""
    down = Redis(host="127.0.0.1", port=_closed_port(), socket_connect_timeout=1)
    fallback = _MemoryNonces()
    prefix = f"pusher:test:{uuid.uuid4().hex}:"
    nonces = RedisNonces(down, ttl_seconds=60, prefix=prefix, fallback=fallback)
    try:
        assert await asyncio.gather(*(nonces.claim(k) for k in ("a", "b"))) == [True, True]
        assert not await nonces.claim("a")  # a replay during the outage
        nonces.redis = redis_client  # Redis is back (empty, as after a restart)
        assert not await nonces.claim("b")  # claimed during the outage: still refused
        assert await nonces.claim("c")
        assert not await nonces.claim("c")
        await nonces.release("c")  # not applied: the provider's retry must pass
        assert await nonces.claim("c")
    finally:
        await down.aclose()


async def test_without_a_fallback_a_claim_fails_while_redis_is_down() -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError

    down = Redis(host="127.0.0.1", port=_closed_port(), socket_connect_timeout=1)
    nonces = RedisNonces(down, ttl_seconds=60, prefix="pusher:test:none:")
    try:
        with pytest.raises(RedisConnectionError):
            await nonces.claim("a")
    finally:
        await down.aclose()
