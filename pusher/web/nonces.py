"""Memory of signed callbacks already seen, so a captured one cannot be replayed.

A WeChat callback's signature covers only the token, its timestamp and its nonce,
not the body: whoever sees one signed query string (a proxy's log, say) could post
any event with it. The callback view refuses timestamps outside the accepted skew
and claims each (timestamp, nonce) pair here before applying the event; a second
claim of the same pair is refused. A pair needs remembering only as long as its
timestamp is accepted, so entries expire after twice the skew.

- :class:`RedisNonces`: ``SET key NX EX`` (production: every web process shares it).
- :class:`DatabaseNonces`: a primary-key insert into ``callback_nonce`` (embedded
  mode, one process, but a restart must not forget), expired rows deleted on the way.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Protocol

from arq.connections import ArqRedis
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from pusher.db import SessionFactory, transaction
from pusher.models import CallbackNonce, utcnow


class NonceStore(Protocol):
    async def claim(self, key: str) -> bool:
        """True the first time ``key`` is claimed within its lifetime, False after."""

    async def release(self, key: str) -> None:
        """Forget ``key`` (the callback it came with was not applied)."""


def nonce_key(provider: str, timestamp: str, nonce: str) -> str:
    """A fixed-length key for one callback's (timestamp, nonce) pair."""
    raw = f"{provider}\n{timestamp}\n{nonce}".encode()
    return hashlib.sha256(raw).hexdigest()


class RedisNonces:
    def __init__(self, redis: ArqRedis, *, ttl_seconds: int, prefix: str) -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        self._prefix = prefix

    async def claim(self, key: str) -> bool:
        return bool(await self._redis.set(self._prefix + key, b"1", nx=True, ex=self._ttl))

    async def release(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)


class DatabaseNonces:
    def __init__(self, db: SessionFactory, *, ttl_seconds: int) -> None:
        self._db = db
        self._ttl = timedelta(seconds=ttl_seconds)

    async def claim(self, key: str) -> bool:
        now = utcnow()
        try:
            async with transaction(self._db) as session:
                await session.execute(
                    delete(CallbackNonce).where(CallbackNonce.seen_at < now - self._ttl)
                )
                session.add(CallbackNonce(key=key, seen_at=now))
        except IntegrityError:
            return False
        return True

    async def release(self, key: str) -> None:
        async with transaction(self._db) as session:
            await session.execute(delete(CallbackNonce).where(CallbackNonce.key == key))
