"""Job queues: arq on Redis in production, an in-process runner in embedded mode.

Both take the same job names and arguments and call the same job functions,
so the pipeline cannot tell which mode it runs in. Job ids are deterministic:
enqueueing an id that is already queued or running is a no-op, in both modes, and
every job is idempotent anyway. Once a job has ended its id may run again: arq keeps
no result (``keep_result=0``) and the in-process runner forgets the id, so the ids it
remembers are those of its live jobs, never a growing history.

arq's workers poll Redis for new jobs; an enqueue also publishes on the queue's wake
channel (:func:`wake_channel`), which idle workers listen to (:class:`Wakeup`) so they poll
at once instead of at their next poll. A wake-up is a hint: one that is lost (Redis
restarting, a listener reconnecting) costs the normal poll delay, never a job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from redis.exceptions import RedisError

log = logging.getLogger(__name__)
#: What a Redis that went away raises on a publish or a subscription.
_REDIS_DOWN = (RedisError, OSError)

JobFunction = Callable[..., Awaitable[Any]]


def wake_channel(queue_name: str) -> str:
    """The Redis pub/sub channel that wakes the idle workers of ``queue_name``."""
    return f"{queue_name}:wake"


class ArqQueue:
    """Enqueues on arq's Redis queue and wakes the idle workers."""

    def __init__(self, redis: Any, *, queue_name: str) -> None:
        self._redis = redis
        self._queue_name = queue_name

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None) -> None:
        # arq keys job ids globally, not per queue: namespace them by queue
        scoped = f"{self._queue_name}:{job_id}" if job_id else None
        job = await self._redis.enqueue_job(
            name, *args, _job_id=scoped, _queue_name=self._queue_name
        )
        if job is not None:  # None: the same job id is queued or running already
            await self._wake()

    async def _wake(self) -> None:
        try:
            await self._redis.publish(wake_channel(self._queue_name), b"")
        except _REDIS_DOWN as exc:  # the job is queued: a worker's next poll finds it
            log.info("wake-up not published", extra={"error": str(exc)})


class Wakeup:
    """An idle worker's ear on its queue's wake channel.

    :meth:`wait` returns when a job was enqueued (or :meth:`set` was called) since the
    last :meth:`clear`, or after its ``seconds``. The listener subscribes on a connection of
    ``redis`` (an arq pool) and, when Redis goes away, subscribes again every ``retry``
    seconds; it wakes the worker each time it (re)subscribes, for whatever was enqueued
    while nobody listened.
    """

    def __init__(self, redis: Any, *, queue_name: str, retry: float = 1.0) -> None:
        self._redis = redis
        self._channel = wake_channel(queue_name)
        self._retry = retry
        self._event = asyncio.Event()
        self._task = asyncio.create_task(self._listen())

    def set(self) -> None:
        """Wake the worker now."""
        self._event.set()

    def clear(self) -> None:
        """Forget earlier wake-ups (the worker is about to poll)."""
        self._event.clear()

    async def wait(self, seconds: float) -> None:
        """Until a wake-up, at most ``seconds``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)

    async def close(self) -> None:
        """Stop listening."""
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _listen(self) -> None:
        while True:
            try:
                await self._subscribed()
            except _REDIS_DOWN as exc:
                log.debug("wake channel lost, subscribing again", extra={"error": str(exc)})
            await asyncio.sleep(self._retry)

    async def _subscribed(self) -> None:
        pubsub = self._redis.pubsub()
        try:
            await pubsub.subscribe(self._channel)
            self._event.set()
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    self._event.set()
        finally:
            with contextlib.suppress(*_REDIS_DOWN):
                await pubsub.aclose()


class LocalQueue:
    """Runs jobs as tasks of this process (embedded mode), a few at a time.

    The ids it remembers (``pending``) are those of jobs queued or running: an id is
    forgotten when its job ends, however it ends, so the set never outgrows the tasks
    alive at the moment (as arq's queue holds only queued and running jobs' ids).
    ``failures`` keeps the last :data:`MAX_FAILURES` failures, for tests and the log.
    """

    MAX_FAILURES = 100

    def __init__(self, functions: Mapping[str, JobFunction], *, concurrency: int = 4) -> None:
        self._functions = functions
        self._ctx: dict[str, Any] = {}
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending: dict[str, asyncio.Task[None]] = {}  # job id → its task
        self.failures: list[tuple[str, BaseException]] = []

    def bind(self, ctx: dict[str, Any]) -> None:
        """Give the jobs their context (the same shape arq's workers get)."""
        self._ctx = ctx

    @property
    def pending(self) -> frozenset[str]:
        """The ids of the jobs queued or running now."""
        return frozenset(self._pending)

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None) -> None:
        if job_id is not None and job_id in self._pending:
            return
        function = self._functions[name]
        task = asyncio.create_task(self._run(name, function, args))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if job_id is not None:
            self._pending[job_id] = task
            task.add_done_callback(lambda done: self._ended(job_id, done))

    def _ended(self, job_id: str, task: asyncio.Task[None]) -> None:
        """A job ended (done, failed or cancelled): its id may be enqueued again."""
        if self._pending.get(job_id) is task:  # not a later job given the id by forget()
            del self._pending[job_id]

    async def _run(self, name: str, function: JobFunction, args: tuple[Any, ...]) -> None:
        async with self._slots:
            try:
                await function(self._ctx, *args)
            except Exception as exc:  # a job's failure must not kill the runner
                log.exception("job failed", extra={"job": name})
                self.failures.append((name, exc))
                del self.failures[: -self.MAX_FAILURES]

    async def join(self) -> None:
        """Wait until no job is queued or running (jobs may enqueue more)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def forget(self, prefix: str) -> None:
        """Allow job ids starting with ``prefix`` to run again even while one is pending."""
        self._pending = {s: t for s, t in self._pending.items() if not s.startswith(prefix)}

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
