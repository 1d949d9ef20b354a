"""The WeChat access_token, shared by every sender of one official account.

A token from ``cgi-bin/token`` is valid for ``expires_in`` seconds and each new
one replaces the one before, so all workers of an account must share one token
and refresh it one at a time. Two stores keep it:

* :class:`MemoryTokenStore`: one process (embedded mode); an ``asyncio.Lock``
  lets one refresh run at a time.
* :class:`RedisTokenStore`: many processes and machines; the token lives in
  Redis with its TTL less a margin, and a Redis lock (``SET NX PX``) lets
  exactly one worker refresh while the others wait and read again.

A forced refresh names the token that was refused: if the store already holds
another one, a different worker has refreshed in the meantime and that token is
used as it is, so a burst of 40001/42001 answers costs one refresh, not one each.

Tokens come from ``cgi-bin/token``, not ``cgi-bin/stable_token``: it is the
documented endpoint the emulator speaks, and behind the Redis lock our workers
are its only caller, so a refresh never takes a live token away from another of
ours. If another system fetches tokens for the same appid, ``stable_token``
(which hands back the same token while it is valid) would be the one to use.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis

from channels.base import TransientError

log = logging.getLogger(__name__)

TokenFetcher = Callable[[], Awaitable[tuple[str, int]]]
"""Asks the provider for a new token; returns ``(token, expires_in_seconds)``."""

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class TokenStore(Protocol):
    """Where the access_token of an account (``key``) is kept between calls."""

    async def get(self, key: str, fetch: TokenFetcher) -> str:
        """The current token, fetched with ``fetch`` if there is none."""
        ...

    async def refresh(self, key: str, bad: str, fetch: TokenFetcher) -> str:
        """A token other than ``bad``: the one another worker stored, or a new one."""
        ...


@dataclass(slots=True)
class _Cached:
    token: str
    expires_at: float


class MemoryTokenStore:
    """Keeps tokens in this process; one refresh at a time per process."""

    def __init__(self, *, margin_seconds: float = 300.0) -> None:
        self._margin = margin_seconds
        self._tokens: dict[str, _Cached] = {}
        self._lock = asyncio.Lock()

    def _current(self, key: str) -> str | None:
        cached = self._tokens.get(key)
        if cached is None or cached.expires_at <= time.monotonic():
            return None
        return cached.token

    async def get(self, key: str, fetch: TokenFetcher) -> str:
        """The cached token, or a freshly fetched one."""
        return self._current(key) or await self._refresh(key, None, fetch)

    async def refresh(self, key: str, bad: str, fetch: TokenFetcher) -> str:
        """Replace ``bad`` unless it has been replaced already."""
        return await self._refresh(key, bad, fetch)

    async def _refresh(self, key: str, bad: str | None, fetch: TokenFetcher) -> str:
        async with self._lock:
            current = self._current(key)
            if current is not None and current != bad:
                return current
            token, expires_in = await fetch()
            ttl = max(1.0, expires_in - min(self._margin, expires_in / 2))
            self._tokens[key] = _Cached(token, time.monotonic() + ttl)
            return token


class RedisTokenStore:
    """Keeps tokens in Redis so all workers on all machines share one token."""

    def __init__(
        self,
        redis: aioredis.Redis,
        prefix: str = "pusher",
        *,
        margin_seconds: int = 300,
        lock_ms: int = 15_000,
        poll_seconds: float = 0.05,
        wait_seconds: float = 20.0,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._margin = margin_seconds
        self._lock_ms = lock_ms
        self._poll = poll_seconds
        self._wait = wait_seconds

    def _keys(self, key: str) -> tuple[str, str]:
        base = f"{self._prefix}:wechat:{key}"
        return f"{base}:token", f"{base}:lock"

    async def _read(self, token_key: str) -> str | None:
        value = await self._redis.get(token_key)
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    async def get(self, key: str, fetch: TokenFetcher) -> str:
        """The token in Redis, or one fetched under the lock."""
        token = await self._read(self._keys(key)[0])
        return token or await self._refresh(key, None, fetch)

    async def refresh(self, key: str, bad: str, fetch: TokenFetcher) -> str:
        """Replace ``bad`` unless another worker has replaced it already."""
        return await self._refresh(key, bad, fetch)

    async def _refresh(self, key: str, bad: str | None, fetch: TokenFetcher) -> str:
        token_key, lock_key = self._keys(key)
        owner = secrets.token_hex(8)
        deadline = time.monotonic() + self._wait
        while time.monotonic() < deadline:
            if await self._redis.set(lock_key, owner, nx=True, px=self._lock_ms):
                try:
                    return await self._fetch_locked(token_key, bad, fetch)
                finally:
                    await self._redis.eval(_RELEASE, 1, lock_key, owner)  # type: ignore[misc]
            await asyncio.sleep(self._poll)
            current = await self._read(token_key)
            if current is not None and current != bad:
                return current
        raise TransientError("token_lock_timeout", "another worker holds the token lock")

    async def _fetch_locked(self, token_key: str, bad: str | None, fetch: TokenFetcher) -> str:
        current = await self._read(token_key)
        if current is not None and current != bad:
            return current
        token, expires_in = await fetch()
        ttl = max(1, expires_in - min(self._margin, expires_in // 2))
        await self._redis.set(token_key, token, ex=ttl)
        log.info("wechat access_token refreshed, cached for %s s", ttl)
        return token


def build_token_store(redis: Any | None) -> TokenStore:
    """Shared through Redis when there is one (every worker), else in this process."""
    return RedisTokenStore(redis, prefix="pusher") if redis is not None else MemoryTokenStore()
