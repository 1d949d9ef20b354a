"""Memory of signed callbacks already seen, so a captured one cannot be replayed.

A WeChat callback's signature covers only the token, its timestamp and its nonce,
not the body: whoever sees one signed query string (a proxy's log, say) could post
any event with it. The callback view refuses timestamps outside the accepted skew
and claims each (timestamp, nonce) pair here before applying the event; a second
claim of the same pair is refused. A pair needs remembering only as long as its
timestamp is accepted, so entries expire after twice the skew.

- :class:`RedisNonces`: ``SET key NX EX`` (production: every web process shares it).
  A large push brings hundreds of callbacks a second; the claims of concurrent
  requests go to Redis together, in one pipeline, instead of one round trip each.
  While Redis cannot be reached (a restart), claims go to the database instead: WeChat
  tries an event three times within seconds, so refusing them lost those receipts for
  good (seen in the chaos bench: 39 rows left ``sent``). For a lifetime after the last
  such claim, a pair Redis lets through is refused when the database holds it (one read
  a batch), so a pair first claimed during the outage cannot be replayed once Redis is back.
- :class:`DatabaseNonces`: a primary-key insert into ``callback_nonce`` (embedded
  mode, one process, but a restart must not forget), expired rows deleted on the way.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from arq.connections import ArqRedis
from redis.exceptions import RedisError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from pusher.db import SessionFactory, transaction
from pusher.models import CallbackNonce, utcnow

log = logging.getLogger(__name__)


class NonceStore(Protocol):
    async def claim(self, key: str) -> bool:
        """True the first time ``key`` is claimed within its lifetime, False after."""

    async def release(self, key: str) -> None:
        """Forget ``key`` (the callback it came with was not applied)."""


class FallbackStore(NonceStore, Protocol):
    async def held(self, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` are claimed here (one read for a batch)."""


def nonce_key(provider: str, timestamp: str, nonce: str) -> str:
    """A fixed-length key for one callback's (timestamp, nonce) pair."""
    raw = f"{provider}\n{timestamp}\n{nonce}".encode()
    return hashlib.sha256(raw).hexdigest()


#: Claims sent to Redis in one pipeline at most (the rest go in the next).
MAX_CLAIMS = 1_000


@dataclass
class _Claim:
    key: str
    done: asyncio.Future[bool]


@dataclass
class RedisNonces:
    """Claims in Redis; those made while a pipeline is out go together in the next."""

    redis: ArqRedis
    ttl_seconds: int
    prefix: str
    #: where claims go while Redis cannot be reached (None: they fail, the request 500s)
    fallback: FallbackStore | None = None
    #: monotonic time until which claims are made in ``fallback`` as well
    fallback_until: float = 0.0
    waiting: list[_Claim] = field(default_factory=list)
    running: asyncio.Task[None] | None = None

    async def claim(self, key: str) -> bool:
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.waiting.append(_Claim(key, done))
        if self.running is None or self.running.done():
            self.running = asyncio.create_task(self._drain())
        return await asyncio.shield(done)  # one request hanging up leaves the others

    async def _drain(self) -> None:
        while self.waiting:
            taken, self.waiting = self.waiting[:MAX_CLAIMS], self.waiting[MAX_CLAIMS:]
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for claim in taken:
                        pipe.set(self.prefix + claim.key, b"1", nx=True, ex=self.ttl_seconds)
                    results = [bool(r) for r in await pipe.execute()]
            except UNREACHABLE as exc:
                if self.fallback is None:  # each request answers 500; the provider sends again
                    _fail(taken, exc)
                    continue
                if time.monotonic() >= self.fallback_until:  # a new outage
                    log.warning("Redis unreachable: callback replay checks go to the database")
                self.fallback_until = time.monotonic() + self.ttl_seconds
                results = await self._claim_in_fallback(taken, self.fallback)
            else:
                if self.fallback is not None and time.monotonic() < self.fallback_until:
                    results = await self._not_held(taken, results, self.fallback)
            for claim, result in zip(taken, results, strict=True):
                if not claim.done.done():
                    claim.done.set_result(result)

    @staticmethod
    async def _claim_in_fallback(taken: list[_Claim], fallback: FallbackStore) -> list[bool]:
        """Redis could not judge: each claim is made in the fallback store."""
        out = []
        for claim in taken:
            try:
                out.append(await fallback.claim(claim.key))
            except Exception as exc:  # this request answers 500; the others go on
                _fail([claim], exc)
                out.append(False)
        return out

    @staticmethod
    async def _not_held(
        taken: list[_Claim], results: list[bool], fallback: FallbackStore
    ) -> list[bool]:
        """Redis is back within a lifetime of an outage: what it let through is refused
        too when it was claimed in the fallback store during the outage (one read)."""
        try:
            held = await fallback.held([c.key for c in taken])
        except Exception as exc:  # these requests answer 500; the provider sends again
            _fail(taken, exc)
            return [False] * len(taken)
        return [r and c.key not in held for c, r in zip(taken, results, strict=True)]

    async def release(self, key: str) -> None:
        try:
            await self.redis.delete(self.prefix + key)
        except UNREACHABLE:
            if self.fallback is None:
                raise
        if self.fallback is not None and time.monotonic() < self.fallback_until:
            await self.fallback.release(key)


#: What a claim meets when Redis is down or restarting.
UNREACHABLE = (RedisError, OSError, TimeoutError)


def _fail(claims: list[_Claim], exc: BaseException) -> None:
    for claim in claims:
        if not claim.done.done():
            claim.done.set_exception(exc)


#: Expired pairs are deleted by a claim at most this often (seconds): a claim a callback,
#: hundreds a second in a push, each with its own ``DELETE``, loaded the database for
#: nothing. A pair not deleted yet refuses no one: its timestamp is out of the accepted
#: skew by then, and the callback view refuses it before any claim.
PURGE_EVERY = 10.0


class DatabaseNonces:
    def __init__(self, db: SessionFactory, *, ttl_seconds: int) -> None:
        self._db = db
        self._ttl = timedelta(seconds=ttl_seconds)
        self._purged_at = -PURGE_EVERY  # monotonic: the first claim purges

    async def claim(self, key: str) -> bool:
        now = utcnow()
        purge = time.monotonic() - self._purged_at >= PURGE_EVERY
        try:
            async with transaction(self._db) as session:
                if purge:
                    await session.execute(
                        delete(CallbackNonce).where(CallbackNonce.seen_at < now - self._ttl)
                    )
                session.add(CallbackNonce(key=key, seen_at=now))
        except IntegrityError:
            return False
        if purge:
            self._purged_at = time.monotonic()
        return True

    async def held(self, keys: Sequence[str]) -> set[str]:
        async with self._db() as session:
            found = await session.scalars(
                select(CallbackNonce.key).where(col(CallbackNonce.key).in_(list(keys)))
            )
            return set(found)

    async def release(self, key: str) -> None:
        async with transaction(self._db) as session:
            await session.execute(delete(CallbackNonce).where(CallbackNonce.key == key))
