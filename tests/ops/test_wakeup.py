"""An enqueue wakes an idle worker at once, however long its poll delay; so does a freed slot.

The workers here poll every 5 s: a job that starts within a fraction of that was started
by the wake-up, not by a poll.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import pytest
from arq import create_pool, func
from arq.connections import ArqRedis, RedisSettings

from pusher.runtime.queue import ArqQueue, wake_channel
from pusher.runtime.worker import PusherWorker
from tests.conftest import REDIS
from tests.ops.test_redis_outage import PrivateRedis

pytestmark = pytest.mark.production

POLL_DELAY = 5.0
#: How soon after its enqueue a woken worker starts a job (the poll delay is 33× longer).
PROMPT = 0.15


class Started:
    """The job ``ping``: records when each of its runs started, by argument."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.release = asyncio.Event()
        self.hold: set[str] = set()

    async def ping(self, _ctx: dict[str, object], key: str) -> None:
        self.at[key] = time.monotonic()
        if key in self.hold:
            await self.release.wait()

    async def started_after(self, key: str, since: float, *, within: float = 2.0) -> float:
        deadline = time.monotonic() + within
        while key not in self.at:
            assert time.monotonic() < deadline, f"job {key} did not start within {within} s"
            await asyncio.sleep(0.005)
        return self.at[key] - since


async def _listening(pool: ArqRedis, queue_name: str, *, within: float = 10.0) -> None:
    """Until the worker has subscribed to the wake channel (Redis counts subscribers)."""
    deadline = time.monotonic() + within
    while True:
        with suppress(OSError, ConnectionError):
            counts = await pool.pubsub_numsub(wake_channel(queue_name))
            if counts and counts[0][1] >= 1:
                return
        assert time.monotonic() < deadline, "the worker never subscribed to its wake channel"
        await asyncio.sleep(0.02)


@asynccontextmanager
async def idle_worker(
    redis: RedisSettings, started: Started, *, max_jobs: int = 10
) -> AsyncIterator[tuple[ArqQueue, ArqRedis, str]]:
    """A running worker polling every 5 s on a queue of its own, already idle; yields
    a queue to enqueue on, a pool and the queue's name."""
    queue_name = f"pusher:test:wake:{uuid.uuid4().hex[:8]}"
    pool = await create_pool(redis)
    worker = PusherWorker(
        functions=[func(started.ping, name="ping")],
        redis_settings=redis,
        queue_name=queue_name,
        poll_delay=POLL_DELAY,
        max_jobs=max_jobs,
        handle_signals=False,
        keep_result=0,
    )
    run = asyncio.create_task(worker.async_run())
    try:
        await _listening(pool, queue_name)
        await asyncio.sleep(0.3)  # the subscription's own wake-up has been used up
        yield ArqQueue(pool, queue_name=queue_name), pool, queue_name
    finally:
        started.release.set()
        await worker.close()
        with suppress(asyncio.CancelledError):
            await run
        await pool.aclose()


async def test_an_enqueue_starts_the_job_on_an_idle_worker_at_once() -> None:
    started = Started()
    async with idle_worker(RedisSettings.from_dsn(REDIS), started) as (queue, _, _):
        delays = []
        for n in range(5):
            await asyncio.sleep(0.2)
            since = time.monotonic()
            await queue.enqueue("ping", f"job{n}", job_id=f"job{n}")
            delays.append(await started.started_after(f"job{n}", since))
    assert statistics.median(delays) < PROMPT, delays
    assert max(delays) < 1.0, delays


async def test_a_slot_freed_on_a_full_worker_starts_the_waiting_job_at_once() -> None:
    started = Started()
    started.hold = {"first"}
    async with idle_worker(RedisSettings.from_dsn(REDIS), started, max_jobs=1) as (queue, _, _):
        await queue.enqueue("ping", "first", job_id="first")
        await started.started_after("first", time.monotonic())
        await queue.enqueue("ping", "second", job_id="second")
        await asyncio.sleep(0.3)  # woken, but no slot: it waits
        assert "second" not in started.at
        since = time.monotonic()
        started.release.set()
        delay = await started.started_after("second", since)
    assert delay < PROMPT


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server")
    redis = PrivateRedis(tmp_path)
    redis.start()
    yield redis
    if redis.process is not None and redis.process.poll() is None:
        redis.kill()


async def test_wakeups_resume_after_a_redis_restart(private_redis: PrivateRedis) -> None:
    started = Started()
    settings = RedisSettings(port=private_redis.port, conn_retries=0)
    async with idle_worker(settings, started) as (queue, pool, queue_name):
        private_redis.kill()
        await asyncio.sleep(1.5)
        private_redis.start()
        await _listening(pool, queue_name)  # the worker subscribed again by itself
        await asyncio.sleep(0.3)
        since = time.monotonic()
        await queue.enqueue("ping", "after", job_id="after")
        delay = await started.started_after("after", since)
    assert delay < 1.0
