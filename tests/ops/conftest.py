"""Running real ``pusher worker`` processes against the machine's PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from pusher.db import transaction
from pusher.demo.town import Town, build_town
from pusher.models import Delivery, DeliveryStatus, Push
from pusher.ops.logs import request_id_middleware
from pusher.ops.migrate import upgrade
from pusher.runtime.context import Resources
from pusher.runtime.resources import open_resources
from pusher.settings import Settings
from pusher.web.keys import RESOURCES
from pusher.web.monitoring import setup_health, setup_metrics

REPO = Path(__file__).resolve().parents[2]
OPEN = (DeliveryStatus.QUEUED.value, DeliveryStatus.SENDING.value)


async def is_final(r: Resources, item_id: int) -> bool:
    """The item's push is planned and none of its deliveries is queued or sending."""
    async with r.db() as session:
        push = await session.scalar(select(Push).where(Push.item_id == item_id))
        if push is None or push.status != "done":
            return False
        still_open = await session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.push_id == push.id, Delivery.status.in_(OPEN))
        )
        return not still_open


async def wait_until_final(
    r: Resources, item_id: int, *, within: float, detail: Callable[[], str] = str
) -> None:
    """Poll until :func:`is_final`; after ``within`` seconds fail, saying ``detail()``."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await is_final(r, item_id):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"deliveries of item {item_id} not final after {within} s {detail()}")


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment a worker process gets: ``settings`` as ``PUSHER_*`` variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUSHER_")}
    assert settings.redis_url is not None
    env.update(
        PUSHER_DATABASE_URL=settings.database_url.get_secret_value(),
        PUSHER_REDIS_URL=settings.redis_url.get_secret_value(),
        PUSHER_QUEUE_NAME=settings.queue_name,
        PUSHER_SECRET_KEY=settings.secret_key.get_secret_value(),
        PUSHER_CALLBACK_SECRET=settings.callback_secret.get_secret_value(),
        PUSHER_JIEBA_CACHE_DIR=str(settings.jieba_cache_dir),
        # start == end: no quiet hours, whatever the time of day the test runs
        PUSHER_QUIET_HOURS__START="0",
        PUSHER_QUIET_HOURS__END="0",
        PYTHONPATH=str(REPO),
    )
    env.update(extra)
    return env


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_started(self, timeout: float = 30.0) -> None:
        """Until arq says it is polling (its startup, our resources, opened)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited early:\n{self.output()[-3000:]}")
            if "Starting worker" in self.output() and "redis_version" in self.output():
                return
            time.sleep(0.05)
        raise AssertionError(f"worker did not start:\n{self.output()[-3000:]}")

    def terminate(self, timeout: float) -> float:
        """SIGTERM, then the seconds it took to exit (kills it past ``timeout``)."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"worker ignored SIGTERM for {timeout} s") from None
        return time.monotonic() - started


@dataclass
class Workers:
    settings: Settings
    directory: Path
    started: list[WorkerProcess] = field(default_factory=list)

    def spawn(self, **extra: str) -> WorkerProcess:
        log = self.directory / f"worker{len(self.started)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "pusher.cli.main", "worker"],
                env=worker_env(self.settings, **extra),
                cwd=self.directory,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        worker = WorkerProcess(process, log)
        self.started.append(worker)
        return worker


@pytest.fixture
def workers(production_settings: Settings, tmp_path: Path) -> Iterator[Workers]:
    """Spawns worker processes; any still running at the end are stopped."""
    pool = Workers(production_settings, tmp_path)
    yield pool
    for worker in pool.started:
        if worker.process.poll() is None:
            worker.process.send_signal(signal.SIGTERM)
            try:
                worker.process.wait(15)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()


def ops_app(resources: Resources) -> web.Application:
    """The web routes of this package on an app holding already opened resources."""
    app = web.Application(middlewares=[request_id_middleware()])
    app[RESOURCES] = resources
    setup_health(app)
    setup_metrics(app)
    return app


@asynccontextmanager
async def client_for(
    resources: Resources,
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with TestClient(TestServer(ops_app(resources))) as client:
        yield client


async def migrated(settings: Settings, *, residents: int = 0) -> Town | None:
    """Migrate ``settings``' database; with residents, build the demo town too."""
    await asyncio.to_thread(upgrade, settings.database_url.get_secret_value())
    if not residents:
        return None
    async with open_resources(settings) as r, transaction(r.db) as session:
        return await build_town(session, residents=residents)
