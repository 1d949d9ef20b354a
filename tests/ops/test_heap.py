"""Long-running processes freeze their startup heap (pusher.runtime.heap)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from pusher.cli import commands, emulate
from pusher.runtime.heap import YOUNG_THRESHOLD, settle_on_startup
from pusher.settings import Settings
from tests.spine.conftest import start

REPO = Path(__file__).resolve().parents[2]


def test_settling_freezes_the_heap_and_spaces_young_collections() -> None:
    # in a process of its own: freezing is for the rest of a process's life
    code = (
        "import gc, pusher.web.app\n"
        "from pusher.runtime.heap import settle_heap\n"
        "before = gc.get_threshold()[0]\n"
        "frozen = settle_heap()\n"
        "young, walked = gc.get_threshold()[0], len(gc.get_objects())\n"
        "print(before, frozen, gc.get_freeze_count(), young, walked)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    before, frozen, counted, young, walked = map(int, out)
    assert before == 700 and young == YOUNG_THRESHOLD
    assert frozen == counted > 50_000  # the web app's modules and what they built
    assert walked < 1_000  # what a collection still walks


@pytest.fixture
def apps(monkeypatch: pytest.MonkeyPatch) -> list[web.Application]:
    """The app each ``web.run_app`` call was given (nothing is served)."""
    seen: list[web.Application] = []

    def run_app(app: web.Application, *, loop: asyncio.AbstractEventLoop, **kw: Any) -> None:
        seen.append(app)
        loop.close()

    monkeypatch.setattr("aiohttp.web.run_app", run_app)
    return seen


def test_serve_settles_its_heap_after_everything_else_started(
    apps: list[web.Application],
) -> None:
    settings = Settings(database_url="sqlite+aiosqlite:///:memory:")
    commands.serve(settings, host="127.0.0.1", port=1, announce=False)
    (app,) = apps
    assert list(app.on_startup)[-1] is settle_on_startup


def test_an_emulator_settles_its_heap(apps: list[web.Application]) -> None:
    emulate.serve_emulator("wechat", port=1)
    (app,) = apps
    assert list(app.on_startup)[-1] is settle_on_startup


def test_the_worker_command_asks_its_worker_to_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[dict[str, Any]] = []

    class Worker:
        def run(self) -> None:
            asyncio.get_event_loop().close()

    def build_worker(*args: Any, **kw: Any) -> Worker:
        asked.append(kw)
        return Worker()

    monkeypatch.setattr("pusher.runtime.worker.build_worker", build_worker)
    try:
        assert commands.worker(Settings(redis_url="redis://127.0.0.1:1/0"), burst=True) == 0
    finally:
        asyncio.set_event_loop(None)
    assert [kw.get("settle") for kw in asked] == [True]


@pytest.mark.parametrize("settle", [True, False])
async def test_a_worker_told_to_settle_does_so_once_started(
    production_settings: Settings, monkeypatch: pytest.MonkeyPatch, settle: bool
) -> None:
    from pusher.runtime import worker as module
    from pusher.runtime.context import Resources

    settled: list[str] = []
    warm = module.warm_rulebook

    async def warm_and_see(resources: Resources) -> None:
        await warm(resources)
        if resources.rulebook.matcher is not None:  # compiled before any item came
            settled.append("rulebook")

    monkeypatch.setattr(module, "warm_rulebook", warm_and_see)
    monkeypatch.setattr(module, "settle_heap", lambda: settled.append("heap"))
    await start(production_settings, residents=5)  # a migrated database with its town
    worker = module.build_worker(production_settings, burst=True, settle=settle)
    try:
        await worker.async_run()
    finally:
        await worker.close()
    # the rulebook first, so the heap is frozen with the tokenizer and the rules in it
    assert settled == (["rulebook", "heap"] if settle else [])
