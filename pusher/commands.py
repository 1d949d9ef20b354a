"""What each CLI command does (kept apart from argument parsing)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from aiohttp import web

from pusher.settings import Settings


def serve(settings: Settings, *, host: str | None, port: int | None) -> int:
    from pusher.web.app import create_app

    web.run_app(create_app(settings), host=host or settings.host, port=port or settings.port)
    return 0


def worker(settings: Settings, *, burst: bool) -> int:
    if settings.redis_url is None:
        print(
            "pusher worker 需要 PUSHER_REDIS_URL"
            "（未设置时为嵌入模式，任务在 pusher serve 进程内执行）",
            file=sys.stderr,
        )
        return 2
    from pusher.worker import build_worker

    build_worker(settings, burst=burst).run()
    return 0


def db_upgrade(settings: Settings) -> int:
    from pusher.migrate import upgrade

    upgrade(settings.database_url.get_secret_value())
    print("数据库已升级到最新版本")
    return 0


def demo(settings: Settings, *, check: bool, port: int | None) -> int:
    from pusher.demo.run import run_demo

    if (
        settings.database_url.get_secret_value()
        == Settings.model_fields["database_url"].default.get_secret_value()
    ):
        settings = settings.model_copy(
            update={
                "database_url": type(settings.database_url)("sqlite+aiosqlite:///./var/demo.db")
            }
        )
    ok, tokens = asyncio.run(run_demo(settings))
    if check:
        print("演示检查通过：每条应达投递均已记录" if ok else "演示检查失败", file=sys.stderr)
        return 0 if ok else 1
    print("\nAPI 令牌（Authorization: Bearer …）：")
    for name, token in tokens.items():
        print(f"  {name}: {token}")
    return serve(settings, host=None, port=port)


def match(rules: Path, items: Path) -> int:
    from rules.offline import run_match

    return run_match(rules, items, sys.stdout)


def emulate(provider: str, *, port: int) -> int:
    from pusher.emulate import emulator_app

    web.run_app(emulator_app(provider), host="127.0.0.1", port=port)
    return 0


def bench(names: list[str], *, quick: bool) -> int:
    from pusher.benchmarks import run_benchmarks

    return run_benchmarks(names, quick=quick)
