"""serve, worker and the emulators run on the event loop chosen (uvloop unless told)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import uvloop

from pusher.cli import commands
from pusher.cli.emulate import serve_emulator
from pusher.settings import Settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def loops(monkeypatch: pytest.MonkeyPatch) -> list[asyncio.AbstractEventLoop]:
    """The loop each ``web.run_app`` call was given (nothing is served)."""
    seen: list[asyncio.AbstractEventLoop] = []

    def run_app(*args: Any, loop: asyncio.AbstractEventLoop | None = None, **kw: Any) -> None:
        assert loop is not None, "run_app was given no loop: it makes asyncio's own"
        seen.append(loop)
        loop.close()

    monkeypatch.setattr("aiohttp.web.run_app", run_app)
    return seen


@pytest.mark.parametrize(("choice", "uv"), [("uvloop", True), ("asyncio", False)])
def test_serve_runs_on_the_chosen_loop(
    loops: list[asyncio.AbstractEventLoop], choice: str, uv: bool
) -> None:
    settings = Settings(event_loop=choice, database_url="sqlite+aiosqlite:///:memory:")
    commands.serve(settings, host="127.0.0.1", port=1, announce=False)
    assert [isinstance(loop, uvloop.Loop) for loop in loops] == [uv]


def test_the_emulators_run_on_uvloop(loops: list[asyncio.AbstractEventLoop]) -> None:
    serve_emulator("wechat", port=1)
    assert [isinstance(loop, uvloop.Loop) for loop in loops] == [True]


def test_the_worker_runs_on_the_chosen_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[asyncio.AbstractEventLoop] = []

    class Worker:
        def run(self) -> None:  # arq's Worker.run: the current loop, run until done
            seen.append(asyncio.get_event_loop())

    monkeypatch.setattr("pusher.runtime.worker.build_worker", lambda *a, **kw: Worker())
    settings = Settings(redis_url="redis://127.0.0.1:1/0")
    try:
        assert commands.worker(settings, burst=True) == 0
        assert len(seen) == 1 and isinstance(seen[0], uvloop.Loop)
    finally:
        asyncio.set_event_loop(None)
        for loop in seen:
            loop.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_started_emulator_process_has_uvloop_loaded() -> None:
    """The real command, not a stand-in: its memory maps hold uvloop's compiled loop."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUSHER_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pusher.cli.main", "emulate", "wechat", "--port", str(port)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        maps = Path(f"/proc/{proc.pid}/maps").read_text()
        assert "uvloop/loop." in maps
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize(("nice", "calls"), [(0, []), (5, [5])])
def test_the_worker_lowers_its_priority_when_told(
    monkeypatch: pytest.MonkeyPatch, nice: int, calls: list[int]
) -> None:
    """PUSHER_WORKER_NICE: on a machine shared with ``pusher serve``, callbacks first."""
    niced: list[int] = []
    monkeypatch.setattr("pusher.cli.commands.os.nice", niced.append)

    class Worker:
        def run(self) -> None:
            asyncio.get_event_loop().close()

    monkeypatch.setattr("pusher.runtime.worker.build_worker", lambda *a, **kw: Worker())
    settings = Settings(redis_url="redis://127.0.0.1:1/0", worker_nice=nice)
    try:
        assert commands.worker(settings, burst=True) == 0
    finally:
        asyncio.set_event_loop(None)
    assert niced == calls
