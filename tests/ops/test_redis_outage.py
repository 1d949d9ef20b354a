"""A Redis restart does not end a ``pusher worker``: it waits, reconnects and works on."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from arq import create_pool, func
from arq.connections import RedisSettings
from pydantic import SecretStr

from pusher.models import DeliveryStatus, Urgency
from pusher.runtime.resources import open_resources
from pusher.runtime.worker import REDIS_LOST, PusherWorker
from pusher.settings import Settings
from tests.ops.conftest import WorkerProcess, Workers, wait_until_final
from tests.spine.conftest import start
from tests.spine.flow import deliveries, publish

pytestmark = [
    pytest.mark.production,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]


FINAL = {DeliveryStatus.DELIVERED.value, DeliveryStatus.UNREACHABLE.value}


class PrivateRedis:
    """A redis-server of this test's own (the machine's is never stopped)."""

    def __init__(self, directory: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
        self.process = subprocess.Popen(
            ["redis-server", *args, "no"], cwd=self.directory, stdout=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()


def _wait_for(worker: WorkerProcess, text: str, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while text not in worker.output():
        assert time.monotonic() < deadline, worker.output()[-3000:]
        time.sleep(0.05)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    redis = PrivateRedis(tmp_path)
    redis.start()
    yield redis
    if redis.process is not None and redis.process.poll() is None:
        redis.kill()


async def test_worker_survives_a_redis_restart_and_delivers_afterwards(
    production_settings: Settings, private_redis: PrivateRedis, workers: Workers
) -> None:
    settings = production_settings.model_copy(update={"redis_url": SecretStr(private_redis.url)})
    town, _ = await start(settings, residents=50)
    worker = workers.spawn(PUSHER_REDIS_URL=private_redis.url)
    await asyncio.to_thread(worker.wait_started)
    await asyncio.to_thread(_wait_for, worker, "cron:sweep ●")  # its startup is done
    private_redis.kill()
    await asyncio.sleep(8)  # longer than the redis client's own reconnect attempts (5 s)
    assert worker.process.poll() is None, worker.output()[-3000:]
    private_redis.start()
    async with open_resources(settings) as r:
        item_id = await publish(
            r,
            region_code=town.town_code,
            title="停水通知",
            body="明日停水。",
            urgency=Urgency.URGENT,
        )
        await wait_until_final(r, item_id, within=60, detail=lambda: worker.output()[-3000:])
        rows = await deliveries(r, item_id)
    assert rows and all(d.status in FINAL for d in rows), worker.output()[-3000:]
    assert "Redis unreachable" in worker.output()


async def test_starts_that_fail_in_an_outage_give_their_job_slot_back(
    private_redis: PrivateRedis,
) -> None:
    """Redis lost between taking a job slot and starting the job: the slot is free again
    (each outage used to keep one, and a worker with none left started no job)."""
    redis = RedisSettings(host="127.0.0.1", port=private_redis.port, conn_retries=0)
    pool = await create_pool(redis)
    ran = asyncio.Event()

    async def ping(_ctx: dict[str, object]) -> None:
        ran.set()

    worker = PusherWorker(
        functions=[func(ping, name="ping")], redis_pool=pool, handle_signals=False, max_jobs=2
    )
    try:
        private_redis.kill()
        for _ in range(5):  # more failed starts than the worker has slots
            with pytest.raises(REDIS_LOST):
                await worker.start_jobs([b"lost"])
        private_redis.start()
        await pool.enqueue_job("ping", _job_id="after-the-outage")
        await asyncio.wait_for(worker.start_jobs([b"after-the-outage"]), 10)
        await asyncio.wait_for(ran.wait(), 10)
    finally:
        await worker.close()
