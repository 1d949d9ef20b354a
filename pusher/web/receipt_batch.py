"""Receipts from concurrent callback requests, applied together.

WeChat posts one event per message, so a large push brings hundreds of callback
requests a second, each with one receipt. Applied one transaction per request,
the commits alone (each waits for the WAL flush) capped them at a few hundred a
second. Here a request hands its receipts over and waits: whatever arrives
while a batch is being applied is applied together in the next transaction.
A request is answered only after its receipts are committed, so a provider
whose request failed sends it again and nothing it was told was taken is lost.
Each transaction writes one log line ("receipts applied": its milliseconds, requests,
receipts per provider, opt-outs, follows, parked); an accepted callback has no access
line of its own (:mod:`pusher.web.access_log`).
Receipts of unknown ids beyond the parking cap are dropped: counted in
``pusher_receipts_dropped`` and logged at most once a minute (a flood must not
flood the log either).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field

from channels.base import CallbackBatch, ChannelKind, Receipt
from pusher.db import SessionFactory, transaction
from pusher.job_queue import JobQueue
from pusher.ops.logs import request_id_var
from pusher.ops.metrics import Metrics
from pusher.pipeline.receipts import (
    Parking,
    apply_follows,
    apply_opt_outs,
    apply_parked,
    apply_receipts,
)

log = logging.getLogger(__name__)

#: Receipts applied in one transaction at most (the rest wait for the next).
MAX_RECEIPTS = 2_000
#: Seconds a transaction waits for more requests before it starts, when fewer than
#: ``LINGER_BELOW`` wait. In a 1M county push
#: (WeChat callbacks, one receipt each) it took the transactions from about 34 callbacks
#: each, 27 a second, to about 47 each, 20 a second; the receipts applied a second
#: during the sends stayed about 950 (``pusher serve``'s share of the CPU bounds them).
LINGER_SECONDS = 0.01
#: Requests waiting at which a transaction starts without lingering: a backlog is a
#: batch already, and each of its callbacks' posters is waiting for its answer (after a
#: 300,000-resident push's sends, one pair of runs went from about 3,100 receipts a second
#: to about 3,500; the commits themselves take 5 to 9 ms there).
LINGER_BELOW = 16
#: Seconds between two log lines about dropped receipts.
DROP_LOG_SECONDS = 60.0


@dataclass
class _Waiting:
    provider: str
    kind: ChannelKind
    batch: CallbackBatch
    done: asyncio.Future[None]
    request_id: str | None


def _summary(taken: list[_Waiting], parked: int, seconds: float) -> dict[str, object]:
    """The fields of a transaction's log line."""
    receipts: dict[str, int] = defaultdict(int)
    for w in taken:
        receipts[w.provider] += len(w.batch.receipts)
    return {
        "requests": len(taken),
        "receipts": dict(receipts),
        "opt_outs": sum(len(w.batch.opt_outs) for w in taken),
        "follows": sum(len(w.batch.follows) for w in taken),
        "parked": parked,
        "ms": round(seconds * 1000, 1),
    }


@dataclass
class ReceiptApplier:
    """Applies callback batches in shared transactions; one per web app."""

    db: SessionFactory
    queue: JobQueue
    parking: Parking = field(default_factory=Parking)
    metrics: Metrics | None = None
    waiting: list[_Waiting] = field(default_factory=list)
    running: asyncio.Task[None] | None = None
    dropped: dict[str, int] = field(default_factory=dict)  # not logged yet, per provider
    dropped_logged_at: float = float("-inf")
    linger: float = LINGER_SECONDS

    async def apply(self, provider: str, kind: ChannelKind, batch: CallbackBatch) -> None:
        """Return once ``batch`` is committed (raises if its transaction failed)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append(_Waiting(provider, kind, batch, done, request_id_var.get()))
        if self.running is None or self.running.done():
            # a context of its own: the batches it applies belong to many requests, and
            # its log lines name them all instead of carrying the first one's request id
            self.running = asyncio.create_task(self._drain(), context=contextvars.Context())
        await asyncio.shield(done)  # a client that hangs up does not cancel the others

    async def _drain(self) -> None:
        while self.waiting:
            if len(self.waiting) < LINGER_BELOW:
                await asyncio.sleep(self.linger)
            taken: list[_Waiting] = []
            size = 0
            while self.waiting and (not taken or size < MAX_RECEIPTS):
                taken.append(self.waiting.pop(0))
                size += len(taken[-1].batch.receipts) + len(taken[-1].batch.opt_outs)
            started = time.perf_counter()
            try:
                fallback, parked = await self._commit(taken)
            except Exception as exc:  # the providers send them again
                requests = [w.request_id for w in taken]
                log.exception("receipts not applied", extra={"request_ids": requests})
                for w in taken:
                    if not w.done.done():
                        w.done.set_exception(exc)
                continue
            for w in taken:
                if not w.done.done():
                    w.done.set_result(None)
            log.info(
                "receipts applied",
                extra=_summary(taken, parked, time.perf_counter() - started),
            )
            await self._nudge(fallback)

    async def close(self) -> None:
        """Wait for the batch being applied (at shutdown, before the database closes)."""
        if self.running is not None:
            await asyncio.gather(self.running, return_exceptions=True)

    async def _commit(self, taken: list[_Waiting]) -> tuple[set[int], int]:
        """Apply ``taken``: (pushes whose SMS fallback is due, receipts parked)."""
        receipts: dict[str, list[Receipt]] = defaultdict(list)
        for w in taken:
            receipts[w.provider] += w.batch.receipts
        fallback: set[int] = set()
        parked: dict[str, list[str]] = {}
        async with transaction(self.db) as session:
            for provider, batch in receipts.items():
                if batch:
                    applied = await apply_receipts(session, provider, batch, parking=self.parking)
                    fallback |= applied.pushes
                    parked[provider] = applied.parked
                    self._dropped(provider, applied.dropped)
            for w in taken:  # rare, and in the order they came: unfollow, then follow again
                if w.batch.opt_outs:
                    await apply_opt_outs(session, w.kind, w.batch.opt_outs)
                if w.batch.follows:
                    await apply_follows(session, w.batch.follows)
        if any(parked.values()):
            # parked above, maybe racing the worker writing their provider ids: look
            # again now that ours is committed (the sweep would find them too, later)
            async with transaction(self.db) as session:
                for provider, ids in parked.items():
                    fallback |= await apply_parked(session, provider, ids)
        return fallback, sum(len(ids) for ids in parked.values())

    def _dropped(self, provider: str, n: int) -> None:
        """Count dropped receipts; log them (with those since the last line) once a minute."""
        if not n:
            return
        if self.metrics is not None:
            self.metrics.count_dropped_receipts(provider, n)
        self.dropped[provider] = self.dropped.get(provider, 0) + n
        now = time.monotonic()
        if now - self.dropped_logged_at >= DROP_LOG_SECONDS:
            self.dropped_logged_at = now
            log.warning(
                "receipts for unknown messages dropped: parking full",
                extra={"dropped": dict(self.dropped), "cap": self.parking.cap},
            )
            self.dropped.clear()

    async def _nudge(self, pushes: set[int]) -> None:
        """Dispatch the SMS fallbacks of these pushes (the sweeper would, only later)."""
        for push_id in sorted(pushes):
            try:
                await self.queue.enqueue(
                    "dispatch",
                    push_id,
                    ChannelKind.SMS.value,
                    job_id=f"dispatch:{push_id}:sms:fallback:{time.time_ns()}",
                )
            except Exception:  # the rows are queued in the database: the sweeper finds them
                log.exception("fallback dispatch not enqueued", extra={"push_id": push_id})
