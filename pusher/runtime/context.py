"""What every process holds once its resources are open: :class:`Resources`.

Built by :func:`pusher.runtime.resources.open_resources`; kept apart from the builder so
the jobs can name the type without importing the module that lists them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypedDict

import aiohttp
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.base import Channel, ChannelKind
from channels.ratelimit import RateLimiter
from pusher.db import SessionFactory
from pusher.job_queue import JobQueue
from pusher.ops.metrics import Metrics
from pusher.pipeline.dispatch import Dispatcher
from pusher.pipeline.rulebook import Rulebook
from pusher.settings import Settings


@dataclass
class Resources:
    """Long-lived collaborators of one process."""

    settings: Settings
    engine: AsyncEngine
    db: SessionFactory
    http: aiohttp.ClientSession
    channels: dict[ChannelKind, Channel]
    rulebook: Rulebook
    limiter: RateLimiter
    metrics: Metrics
    queue: JobQueue
    redis: ArqRedis | None
    worker_id: str

    def dispatcher(self) -> Dispatcher:
        s = self.settings
        return Dispatcher(
            db=self.db,
            channels=self.channels,
            limiter=self.limiter,
            metrics=self.metrics,
            settings=s.dispatch,
            quiet=s.quiet_hours,
            worker=self.worker_id,
            clock=lambda: datetime.now(UTC),
        )


class WorkerContext(TypedDict, total=False):
    """What every job gets as ``ctx`` (arq adds its own keys beside these)."""

    resources: Resources
