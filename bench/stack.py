"""The production stack of the end-to-end benchmarks, each part its own process.

Shared by ``bench_chaos`` and ``bench_county``: a scratch PostgreSQL database, child
processes with their output in log files (our own ``redis-server``, ``pusher emulate``,
``pusher serve``, ``pusher worker``), the environment that points our processes at the
emulators, and the emulators' inboxes (``GET /emulator/inbox``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from pusher.cli.bench import scratch_database

REPO = Path(__file__).resolve().parents[1]
#: The suggested templates: the registry of the bench stack's Aliyun account.
SMS_TEMPLATES = REPO / "docs" / "sms-templates"


@dataclass(frozen=True)
class Database:
    """A PostgreSQL database of our own on the machine's server."""

    url: str  # for asyncpg

    @property
    def sqlalchemy_url(self) -> str:
        return self.url.replace("postgresql://", "postgresql+asyncpg://")

    @staticmethod
    @asynccontextmanager
    async def create() -> AsyncIterator[Database]:
        async with scratch_database("postgresql") as url:
            yield Database(url.replace("postgresql+asyncpg://", "postgresql://"))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_in_use(port: int) -> bool:
    """True when something accepts connections on 127.0.0.1:``port``."""
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Proc:
    """One child process, restartable, with its output in a log file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.argv, env=self.env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT
            )
        self.starts += 1

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.popen is not None and self.alive():
            self.popen.send_signal(sig)
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


@dataclass
class Cluster:
    """Redis, the emulators, ``pusher serve`` and the workers of one run."""

    redis: Proc
    services: list[Proc]
    workers: list[Proc]
    ports: dict[str, int]
    events: list[str] = field(default_factory=list)
    unplanned_restarts: int = 0

    def start(self) -> None:
        for proc in [self.redis, *self.services, *self.workers]:
            proc.start()

    def stop(self) -> None:
        for proc in [*self.workers, *self.services, self.redis]:
            proc.kill(signal.SIGTERM)

    def supervise(self) -> None:
        """Restart workers that exited on their own."""
        for proc in self.workers:
            if not proc.alive():
                self.unplanned_restarts += 1
                self.events.append(f"{proc.name} exited by itself: restarted")
                proc.start()


def pusher(*args: str) -> list[str]:
    """The command line of ``pusher ARGS`` with this interpreter."""
    return [sys.executable, "-m", "pusher.cli.main", *args]


def redis_server(port: int, log: Path, env: dict[str, str]) -> Proc:
    """Our own ``redis-server`` on ``port``, without persistence."""
    argv = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"]
    return Proc("redis", argv, env, log)


def production_env(
    db_url: str, tmp: Path, ports: dict[str, int], *, name: str, secrets: tuple[str, str]
) -> dict[str, str]:
    """The environment of our processes: production mode on ``db_url`` and the Redis on
    ``ports["redis"]``, queue ``pusher:NAME``, WeChat and Aliyun SMS at the emulators on
    ``ports["wechat"]`` and ``ports["sms"]``; ``secrets`` = (callback secret, session key)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUSHER_")}
    wechat, sms = f"http://127.0.0.1:{ports['wechat']}/", f"http://127.0.0.1:{ports['sms']}/"
    env |= {
        "PYTHONPATH": str(REPO),
        "PUSHER_DATABASE_URL": db_url,
        "PUSHER_REDIS_URL": f"redis://127.0.0.1:{ports['redis']}/0",
        "PUSHER_QUEUE_NAME": f"pusher:{name}",
        "PUSHER_JIEBA_CACHE_DIR": str(tmp / "jieba"),
        "PUSHER_CALLBACK_SECRET": secrets[0],
        "PUSHER_SECRET_KEY": secrets[1],
        "PUSHER_QUIET_HOURS__START": "0",
        "PUSHER_QUIET_HOURS__END": "0",
        "PUSHER_WECHAT__APP_ID": "wx-emulator",
        "PUSHER_WECHAT__APP_SECRET": "emulator-secret",
        "PUSHER_WECHAT__TEMPLATE_ID": f"TPL-{name}",
        "PUSHER_WECHAT__BASE_URL": wechat,
        "PUSHER_ALIYUN_SMS__ACCESS_KEY_ID": "emulator-key",
        "PUSHER_ALIYUN_SMS__ACCESS_KEY_SECRET": "emulator-secret",
        "PUSHER_ALIYUN_SMS__SIGN_NAME": "青山镇",
        "PUSHER_ALIYUN_SMS__TEMPLATE_CODE": f"SMS_{name.upper()}",
        "PUSHER_ALIYUN_SMS__BASE_URL": sms,
        "PUSHER_ALIYUN_SMS__TEMPLATES_FILE": str(SMS_TEMPLATES / "aliyun.yaml"),
    }
    for name in ("PUSHER_EVENT_LOOP", "PUSHER_WORKER_NICE"):  # the bench's own (A/B runs)
        if name in os.environ:
            env[name] = os.environ[name]
    return env


async def wait_for_ports(cluster: Cluster, within: float = 60.0) -> None:
    """Until every port of ``cluster`` accepts connections."""
    deadline = time.monotonic() + within
    for port in cluster.ports.values():
        while not port_in_use(port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"port {port} did not open")
            await asyncio.sleep(0.2)


async def inbox(port: int, *, wait: float = 5.0) -> dict[str, list[str]]:
    """``GET /emulator/inbox``, again until injected faults let it through (each try
    given up after ``wait`` seconds: a fault may hold the answer back)."""
    timeout = aiohttp.ClientTimeout(total=wait)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        for _ in range(50):
            try:
                async with http.get(f"http://127.0.0.1:{port}/emulator/inbox") as resp:
                    if resp.status == 200:
                        got: dict[str, list[str]] = await resp.json()
                        return got
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"inbox on port {port} not readable")


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` so far (None: it is gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # after the command name, from field 3 on
    return (int(fields[11]) + int(fields[12])) / _TICKS


def peak_rss_mb(pid: int) -> float | None:
    """The peak resident set (``VmHWM``) of process ``pid`` in MB (None: it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def wait_for_text(proc: Proc, text: str, within: float = 60.0) -> None:
    """Until ``text`` appears in ``proc``'s log (RuntimeError when it exits or times out)."""
    deadline = time.monotonic() + within
    while text not in proc.log.read_text(errors="replace"):
        if not proc.alive() or time.monotonic() > deadline:
            raise RuntimeError(f"{proc.name}: no {text!r} in {proc.log}")
        time.sleep(0.1)
