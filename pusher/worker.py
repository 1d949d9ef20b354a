"""The arq worker: the same jobs as the in-process runner, resources from the same builder."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from arq import cron
from arq.worker import Worker

from pusher.jobs import FUNCTIONS, sweep
from pusher.resources import open_resources, redis_settings
from pusher.settings import Settings


def build_worker(settings: Settings, *, burst: bool = False, max_jobs: int = 10) -> Worker:
    """An arq worker for ``settings`` (``burst`` stops when the queue is empty)."""

    async def startup(ctx: dict[str, Any]) -> None:
        stack = AsyncExitStack()
        ctx["stack"] = stack
        ctx["resources"] = await stack.enter_async_context(open_resources(settings))

    async def shutdown(ctx: dict[str, Any]) -> None:
        await ctx["stack"].aclose()

    return Worker(
        functions=FUNCTIONS,  # type: ignore[arg-type]
        cron_jobs=[cron(sweep, second={0, 15, 30, 45}, unique=True, run_at_startup=True)],
        on_startup=startup,
        on_shutdown=shutdown,
        redis_settings=redis_settings(settings),
        queue_name=settings.queue_name,
        burst=burst,
        max_jobs=max_jobs,
        handle_signals=not burst,
        job_timeout=600,
        keep_result=60,
        poll_delay=0.2,
    )
