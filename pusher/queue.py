"""Job queues: arq on Redis in production, an in-process runner in embedded mode.

Both take the same job names and arguments and call the same job functions,
so the pipeline cannot tell which mode it runs in. Job ids are deterministic:
enqueueing an id that is already queued (or, in process, already seen) is a
no-op, and every job is idempotent anyway.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

log = logging.getLogger(__name__)

JobFunction = Callable[..., Awaitable[Any]]


class JobQueue(Protocol):
    async def enqueue(self, name: str, *args: Any, job_id: str | None = None) -> None: ...


class ArqQueue:
    """Enqueues on arq's Redis queue."""

    def __init__(self, redis: Any, *, queue_name: str) -> None:
        self._redis = redis
        self._queue_name = queue_name

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None) -> None:
        # arq keys job ids globally, not per queue: namespace them by queue
        scoped = f"{self._queue_name}:{job_id}" if job_id else None
        await self._redis.enqueue_job(name, *args, _job_id=scoped, _queue_name=self._queue_name)


class LocalQueue:
    """Runs jobs as tasks of this process (embedded mode), a few at a time."""

    def __init__(self, functions: Mapping[str, JobFunction], *, concurrency: int = 4) -> None:
        self._functions = functions
        self._ctx: dict[str, Any] = {}
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._seen: set[str] = set()
        self.failures: list[tuple[str, BaseException]] = []

    def bind(self, ctx: dict[str, Any]) -> None:
        """Give the jobs their context (the same shape arq's workers get)."""
        self._ctx = ctx

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None) -> None:
        if job_id is not None:
            if job_id in self._seen:
                return
            self._seen.add(job_id)
        function = self._functions[name]
        task = asyncio.create_task(self._run(name, function, args))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, name: str, function: JobFunction, args: tuple[Any, ...]) -> None:
        async with self._slots:
            try:
                await function(self._ctx, *args)
            except Exception as exc:  # a job's failure must not kill the runner
                log.exception("job failed", extra={"job": name})
                self.failures.append((name, exc))

    async def join(self) -> None:
        """Wait until no job is queued or running (jobs may enqueue more)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def forget(self, prefix: str) -> None:
        """Allow job ids starting with ``prefix`` to run again (periodic sweeps)."""
        self._seen = {s for s in self._seen if not s.startswith(prefix)}

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
