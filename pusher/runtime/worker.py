"""The arq worker: the same jobs as the in-process runner, resources from the same builder."""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import AsyncExitStack
from typing import Any

from arq import cron
from arq.worker import Worker
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError

from pusher.ops.metrics import start_metrics_server
from pusher.runtime.context import Resources
from pusher.runtime.group_jobs import group_tasks
from pusher.runtime.heap import settle_heap
from pusher.runtime.jobs import FUNCTIONS, purge_old, sweep
from pusher.runtime.queue import Wakeup
from pusher.runtime.resources import open_resources, redis_settings
from pusher.secret_keys import secure
from pusher.settings import Settings
from pusher.sources.poll import poll_sources

log = logging.getLogger(__name__)
#: Seconds a stopping worker lets running jobs finish (compose's stop_grace_period is above).
COMPLETION_WAIT = 20
#: Seconds between polls while Redis cannot be reached.
REDIS_RETRY = 1.0
#: What a lost Redis connection raises from a poll (redis-py reports one that drops
#: while a key is watched as a WatchError).
REDIS_LOST = (RedisConnectionError, RedisTimeoutError, ConnectionError, WatchError)


class PusherWorker(Worker):
    """arq's worker, with a shutdown that always runs ``on_shutdown``.

    arq gathers the jobs it cancelled on SIGTERM without ``return_exceptions``;
    their ``CancelledError`` would skip ``on_shutdown`` and exit with code 1.
    Rows those jobs had claimed keep their lease and are taken over when it
    runs out, so stopping never loses a message.

    A Redis outage (a restart, a failover) does not end the worker: arq's poll
    raises on a lost connection; here it is logged and polling resumes once
    Redis answers again. Jobs already running go on with their database work.

    An idle worker waits ``poll_delay`` between polls, but an enqueue wakes it at once
    (:class:`~pusher.runtime.queue.Wakeup`), and so does a job slot freed while every slot was
    taken; arq's own sleep between polls is then nil. Burst workers poll as arq does.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Set on SIGTERM/SIGINT: running dispatch jobs stop between batches.
        self.stopping = asyncio.Event()
        #: Seconds an idle worker waits for a wake-up before it polls anyway.
        self.idle_poll_s = self.poll_delay_s
        if not self.burst:
            self.poll_delay_s = 0.0  # the wait is ours (``_idle``), cut short by a wake-up
        self.wakeup: Wakeup | None = None

    def handle_sig_wait_for_completion(self, signum: signal.Signals) -> None:
        self.stopping.set()
        super().handle_sig_wait_for_completion(signum)

    async def _poll_iteration(self) -> None:
        if self.wakeup is not None:
            self.wakeup.clear()  # a wake-up from now on brings the next poll forward
        try:
            await super()._poll_iteration()
        except REDIS_LOST as exc:
            log.warning("Redis unreachable, polling again shortly", extra={"error": str(exc)})
            await asyncio.sleep(REDIS_RETRY)
        if not self.burst:
            await self._idle()

    async def _idle(self) -> None:
        if self.wakeup is None:  # arq's pool exists from the first poll on
            self.wakeup = Wakeup(self.pool, queue_name=self.queue_name, retry=REDIS_RETRY)
        await self.wakeup.wait(self.idle_poll_s)

    def _release_sem_dec_counter_on_complete(self) -> None:
        super()._release_sem_dec_counter_on_complete()
        if self.wakeup is not None and self.job_counter == self.max_jobs - 1:
            self.wakeup.set()  # every slot was taken: a queued job may start now

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """arq's start, one job at a time; a job slot taken for a job that could not be
        started because Redis went away is given back (else each outage would leak one
        of the ``max_jobs`` slots until the worker started no job at all)."""
        for job_id in job_ids:
            try:
                await super().start_jobs([job_id])
            except REDIS_LOST:
                # arq takes the slot (semaphore and counter) before its Redis calls and
                # hands it to the job's task only once they all succeeded
                if job_id.decode() not in self.tasks:
                    self.job_counter -= 1
                    self.sem.release()
                raise

    async def close(self) -> None:
        if not self._handle_signals:
            self.handle_sig(signal.SIGUSR1)
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        self.tasks.clear()
        if self.wakeup is not None:
            await self.wakeup.close()
        await super().close()


async def warm_rulebook(resources: Resources) -> None:
    """Compile the rulebook now, not for the first item (best effort: a database not
    migrated yet, say, leaves it to the first item as before)."""
    try:
        async with resources.db() as session:
            await resources.rulebook.current(session)
    except Exception:
        log.warning("rulebook not compiled at startup: the first item compiles it", exc_info=True)


def build_worker(
    settings: Settings,
    *,
    burst: bool = False,
    max_jobs: int = 10,
    poll_delay: float = 0.5,
    settle: bool = False,
) -> Worker:
    """An arq worker for ``settings`` (``burst`` stops when the queue is empty).

    ``settle``: once started, compile the rulebook (jieba's dictionary, the domain
    classifier and the rules: about a second in threads, which the first item a fresh
    worker took waited for; seen in the county bench as one small-town warning in 20 at
    1 s instead of 0.1 s) and freeze the heap with all of it (:mod:`pusher.runtime.heap`;
    ``pusher worker`` does, a test's worker in the test's own process does not).

    ``poll_delay`` is how long an idle worker waits between polls when no enqueue wakes
    it (deferred and cron jobs are found by polls; everything enqueued wakes it).

    Raises :class:`~pusher.secret_keys.InsecureSettings` in production with weak secrets.
    """
    settings = secure(settings)

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["stopping"] = worker.stopping
        stack = AsyncExitStack()
        ctx["stack"] = stack
        resources = await stack.enter_async_context(open_resources(settings))
        ctx["resources"] = resources
        if settings.metrics_port:
            server = await start_metrics_server(
                resources.metrics,
                resources.db,
                host=settings.metrics_host,
                port=settings.metrics_port,
            )
            stack.push_async_callback(server)
        if settle:
            await warm_rulebook(resources)
            settle_heap()

    async def shutdown(ctx: dict[str, Any]) -> None:
        await ctx["stack"].aclose()

    worker = PusherWorker(
        functions=FUNCTIONS,
        cron_jobs=[
            cron(sweep, second={0, 15, 30, 45}, unique=True, run_at_startup=True),
            cron(purge_old, hour={3}, minute={17}, unique=True),
            cron(poll_sources, second={40}, unique=True),  # sources due by their interval
            cron(group_tasks, second={50}, unique=True),  # customer groups: results, reminders
        ],
        on_startup=startup,
        on_shutdown=shutdown,
        redis_settings=redis_settings(settings),
        queue_name=settings.queue_name,
        burst=burst,
        max_jobs=max_jobs,
        handle_signals=not burst,
        job_timeout=600,
        job_completion_wait=COMPLETION_WAIT,
        # job ids de-duplicate only work that is queued or running; every job is idempotent
        keep_result=0,
        poll_delay=poll_delay,
    )
    return worker
