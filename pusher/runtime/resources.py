"""Building what a process needs: one builder for the web process and the worker.

``open_resources(settings)`` is an async context manager: the web app enters it
in a ``cleanup_ctx`` and the arq worker in ``on_startup`` (leaving it in
``on_shutdown``), so the two never drift apart.
"""

from __future__ import annotations

import dataclasses
import os
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import aiohttp
from arq.connections import ArqRedis, RedisSettings, create_pool

from channels.registry import build_channels, build_limiter
from pusher.db import create_engine, session_factory
from pusher.job_queue import JobQueue
from pusher.ops.metrics import Metrics
from pusher.pipeline.cmpp_submits import DatabaseLedger
from pusher.pipeline.receipts import database_receipts
from pusher.pipeline.rulebook import Rulebook
from pusher.runtime.context import Resources
from pusher.runtime.inbox_store import database_lookup, database_sink
from pusher.runtime.jobs import FUNCTIONS
from pusher.runtime.queue import ArqQueue, LocalQueue
from pusher.settings import Settings


def redis_settings(settings: Settings) -> RedisSettings:
    """arq's connection settings: the Redis URL, or Sentinels that name the master.

    With ``PUSHER_REDIS_SENTINELS`` set, the URL still gives the database and
    password; its host is ignored in favour of the master the Sentinels report.
    """
    assert settings.redis_url is not None
    base = RedisSettings.from_dsn(settings.redis_url.get_secret_value())
    if not settings.redis_sentinels:
        return base
    hosts = []
    for entry in settings.redis_sentinels:
        host, _, port = entry.rpartition(":")
        hosts.append((host or entry, int(port) if port.isdigit() else 26379))
    return dataclasses.replace(
        base, host=hosts, sentinel=True, sentinel_master=settings.redis_sentinel_master
    )


@asynccontextmanager
async def open_resources(
    settings: Settings, *, queue: JobQueue | None = None, metrics: Metrics | None = None
) -> AsyncIterator[Resources]:
    """Open the database, HTTP session, Redis, channels and queue; close them on exit."""
    async with AsyncExitStack() as stack:
        engine = create_engine(
            settings.database_url.get_secret_value(),
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
        )
        stack.push_async_callback(engine.dispose)
        db = session_factory(engine)
        http = await stack.enter_async_context(aiohttp.ClientSession())
        redis: ArqRedis | None = None
        if settings.redis_url is not None:
            redis = await create_pool(redis_settings(settings))
            stack.push_async_callback(redis.aclose)
        limiter = build_limiter(redis)
        channels = build_channels(
            settings,
            http=http,
            sandbox_sink=database_sink(db),
            sandbox_lookup=database_lookup(db),
            redis=redis,
            limiter=limiter,
            receipts=database_receipts(db),
            submits=DatabaseLedger(db),
        )
        for channel in channels.values():
            stack.push_async_callback(channel.close)
            await channel.start()  # long-lived connections (a CMPP session) open here
        if queue is None:
            queue = (
                ArqQueue(redis, queue_name=settings.queue_name)
                if redis is not None
                else _local_queue(stack)
            )
        yield Resources(
            settings=settings,
            engine=engine,
            db=db,
            http=http,
            channels=channels,
            rulebook=Rulebook(cache_dir=settings.jieba_cache_dir),
            limiter=limiter,
            metrics=metrics or Metrics(),
            queue=queue,
            redis=redis,
            worker_id=f"{socket.gethostname()}:{os.getpid()}:{id(stack):x}",
        )


def _local_queue(stack: AsyncExitStack) -> LocalQueue:
    queue = LocalQueue({f.__name__: f for f in FUNCTIONS})  # type: ignore[misc]
    stack.push_async_callback(queue.close)
    return queue


def bind_local(resources: Resources) -> None:
    """Give an in-process queue its job context."""
    if isinstance(resources.queue, LocalQueue):
        ctx: dict[str, Any] = {"resources": resources}
        resources.queue.bind(ctx)
