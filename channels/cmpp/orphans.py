"""Status reports that no message of this process claims, where every worker can ask.

A gateway sends a status report over any of the SP's connections, not always the
one the SUBMIT went over; and a worker killed after the gateway took its SUBMITs
never learns their Msg_Ids at all. Such a report reaches a process whose tracker
does not know its Msg_Id. Besides handing it on (the receipts store parks it under
its own Msg_Id), that process records it here, by number: (Dest_terminal_Id →
Msg_Id). When a worker later asks about a message of unknown outcome to that
number (its own unanswered SUBMIT, or one a dead worker left), the oldest such
report is the gateway's word that the message was taken: it is settled as sent
under that Msg_Id, and the parked receipt applies to it, instead of being sent a
second time.

The same store keeps each accepted message's Msg_Id by its key as soon as the
SUBMIT_RESP says so (:meth:`Orphans.accepted`): a worker killed before it wrote
that to the database leaves it here for the worker that takes its rows over.

Shared through Redis when the service has one (one list per number, expiring
after ``ttl`` seconds), in memory otherwise (one process hears every report).

Limits: a report is taken for the oldest unknown message to its number, so a
report belonging to a message another worker recorded normally could settle a
different message of unknown outcome to the same number within ``ttl``; a long
message's further segments leave reports behind here until they expire.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any, Protocol

#: How many accepted keys the in-memory store keeps.
CAPACITY = 100_000


class Orphans(Protocol):
    """Reports by number whose Msg_Id no message of the receiving process claimed."""

    async def put(self, phone: str, msg_id: str) -> None: ...

    async def take(self, phone: str) -> str | None: ...

    async def accepted(self, key: str, msg_id: str) -> None: ...

    async def accepted_as(self, key: str) -> str | None: ...


class MemoryOrphans:
    """In one process (embedded mode, tests)."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl, self._clock = ttl, clock
        self._by_phone: dict[str, deque[tuple[float, str]]] = {}
        self._by_key: OrderedDict[str, str] = OrderedDict()  # bounded: oldest go first

    async def put(self, phone: str, msg_id: str) -> None:
        self._by_phone.setdefault(phone, deque()).append((self._clock(), msg_id))

    async def take(self, phone: str) -> str | None:
        waiting = self._by_phone.get(phone)
        while waiting:
            at, msg_id = waiting.popleft()
            if self._clock() - at <= self._ttl:
                return msg_id
        self._by_phone.pop(phone, None)
        return None

    async def accepted(self, key: str, msg_id: str) -> None:
        self._by_key[key] = msg_id
        while len(self._by_key) > CAPACITY:
            self._by_key.popitem(last=False)

    async def accepted_as(self, key: str) -> str | None:
        return self._by_key.pop(key, None)


class RedisOrphans:
    """Shared by every worker: a list per number under ``prefix``, expiring after ``ttl``."""

    def __init__(self, redis: Any, *, prefix: str, ttl: float) -> None:
        self._redis, self._prefix, self._ttl = redis, prefix, max(1, int(ttl))

    async def put(self, phone: str, msg_id: str) -> None:
        key = self._prefix + phone
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, msg_id)
            pipe.expire(key, self._ttl)
            await pipe.execute()

    async def take(self, phone: str) -> str | None:
        return _text(await self._redis.lpop(self._prefix + phone))

    async def accepted(self, key: str, msg_id: str) -> None:
        await self._redis.set(f"{self._prefix}key:{key}", msg_id, ex=self._ttl)

    async def accepted_as(self, key: str) -> str | None:
        return _text(await self._redis.get(f"{self._prefix}key:{key}"))


def _text(got: object) -> str | None:
    if got is None:
        return None
    return got.decode() if isinstance(got, bytes) else str(got)
