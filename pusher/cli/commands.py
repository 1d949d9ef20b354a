"""What each CLI command does (kept apart from argument parsing)."""

from __future__ import annotations

import asyncio
import functools
import os
import sys
from pathlib import Path

from aiohttp import web
from pydantic import SecretStr

from pusher.settings import Settings


def serve(settings: Settings, *, host: str | None, port: int | None, announce: bool = True) -> int:
    from pusher.runtime.event_loop import new_loop
    from pusher.web.access_log import CallbackQuietAccessLogger
    from pusher.web.app import create_app

    if announce:
        where = f"http://{host or settings.host}:{port or settings.port}/"
        print(f"控制台：{where}（新数据库首次打开时进入初始设置页）", flush=True)
    from pusher.runtime.heap import settle_on_startup

    app = create_app(settings)
    app.on_startup.append(settle_on_startup)  # after the resources' startup: theirs too
    web.run_app(
        app,
        host=host or settings.host,
        port=port or settings.port,
        print=None,
        loop=new_loop(settings.event_loop),
        access_log_class=CallbackQuietAccessLogger,
    )
    return 0


def worker(settings: Settings, *, burst: bool) -> int:
    if settings.redis_url is None:
        print(
            "pusher worker 需要 PUSHER_REDIS_URL"
            "（未设置时为嵌入模式，任务在 pusher serve 进程内执行）",
            file=sys.stderr,
        )
        return 2
    from pusher.runtime.event_loop import new_loop
    from pusher.runtime.worker import build_worker

    if settings.worker_nice:
        os.nice(settings.worker_nice)
    asyncio.set_event_loop(new_loop(settings.event_loop))  # arq runs on the current loop
    build_worker(settings, burst=burst, settle=True).run()
    return 0


def db_upgrade(settings: Settings) -> int:
    from pusher.ops.migrate import upgrade

    upgrade(settings.database_url.get_secret_value())
    print("数据库已升级到最新版本")
    return 0


def demo(settings: Settings, *, check: bool, port: int | None, verbose: bool = False) -> int:
    from pusher.demo.quiet import log_to_file

    if not verbose:  # before importing the demo: alembic logs at import time
        print(f"日志写入 {log_to_file(Path('var/demo.log'))}（加 -v 在终端显示）", file=sys.stderr)
    from pusher.demo.run import run_demo

    if "database_url" not in settings.model_fields_set:  # keep the demo out of ./var/pusher.db
        demo_db = SecretStr("sqlite+aiosqlite:///./var/demo.db")
        settings = settings.model_copy(update={"database_url": demo_db})
    ok, tokens = asyncio.run(run_demo(settings))
    if check:
        print("演示检查通过：每条应达投递均已记录" if ok else "演示检查失败", file=sys.stderr)
        return 0 if ok else 1
    from pusher.demo.run import DEMO_PASSWORD

    url = settings.public_url if port is None else f"http://{settings.host}:{port}"
    users = " / ".join(tokens)  # the demo's users, leader included, as they were made
    print(f"\n控制台：{url}/  用户 {users}，密码 {DEMO_PASSWORD}")
    print("API 令牌（Authorization: Bearer …）：")
    for name, token in tokens.items():
        print(f"  {name}: {token}")
    return serve(settings, host=None, port=port, announce=False)


def match(rules: Path, items: Path) -> int:
    from rules.offline import run_match

    return run_match(rules, items, sys.stdout)


def bench(names: list[str], *, quick: bool, smoke: bool = False, sms: str | None = None) -> int:
    from pusher.cli.bench import run_benchmarks

    return run_benchmarks(names, quick=quick, smoke=smoke, sms=sms)


def import_residents(settings: Settings, path: Path) -> int:
    """Import or update residents from a roster (the console's checks and matching);
    nothing is written when any row is bad. Moved-out candidates are listed, not marked."""
    from pusher.db import create_engine, session_factory, transaction
    from pusher.rosters.upload import upsert
    from subscriptions.importer import read_file

    if not path.is_file():
        print(f"找不到文件：{path}", file=sys.stderr)
        return 2

    async def go() -> int:
        cells = await asyncio.to_thread(read_file, path)
        engine = create_engine(settings.database_url.get_secret_value())
        try:
            async with transaction(session_factory(engine)) as session:
                run = functools.partial(
                    upsert, session, cells, scope=None, actor="cli",
                    default_consent=settings.roster_sms_consent,
                )  # fmt: skip
                report = await run(apply=False)
                if report.readable and not report.errors:
                    report = await run(apply=True)
        finally:
            await engine.dispose()
        if report.missing_columns:
            print(f"缺少列：{'、'.join(report.missing_columns)}", file=sys.stderr)
            return 1
        for row in report.errors:
            print(f"第 {row.number} 行（{row.name}）：{'；'.join(row.reasons)}", file=sys.stderr)
        if report.errors:
            print(f"文件有 {len(report.errors)} 行有误，未导入任何居民", file=sys.stderr)
            return 1
        c = report.counts
        counts = f"新增 {c['add']} 人，修改 {c['change']} 人，不变 {c['unchanged']} 人"
        print(f"{counts}（共 {report.total} 行）")
        if report.missing:
            print(f"名单上有、文件里没有的居民 {len(report.missing)} 人：请在控制台确认是否迁出")
        return 0

    try:
        return asyncio.run(go())
    except ValueError as exc:
        print(f"无法读取文件：{exc}", file=sys.stderr)
        return 2


def set_user(
    settings: Settings,
    username: str,
    *,
    role: str,
    password: str | None,
    name: str,
    regions: list[str],
    duty: bool = False,
    phone: str | None = None,
    openid: str | None = None,
    notify: bool | None = None,
) -> int:
    """Create a console user or reset their role, password, regions and duty flag (and,
    when given, their 待办提醒 phone, openid and consent)."""
    import getpass
    import os

    from pusher.console.accounts import set_user as save_user
    from pusher.db import create_engine, session_factory, transaction
    from pusher.errors import UserError
    from pusher.models import Role

    password = password or os.environ.get("PUSHER_USER_PASSWORD") or getpass.getpass("密码：")

    async def go() -> None:
        engine = create_engine(settings.database_url.get_secret_value())
        try:
            async with transaction(session_factory(engine)) as session:
                await save_user(
                    session,
                    username=username,
                    role=Role(role),
                    password=password,
                    display_name=name,
                    region_codes=regions,
                    duty_officer=duty,
                    phone=phone,
                    openid=openid,
                    notify=notify,
                )
        finally:
            await engine.dispose()

    try:
        asyncio.run(go())
    except UserError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    print(f"用户 {username} 已保存（角色 {role}）")
    return 0


def send_test(settings: Settings, channel: str, *, to: str, text: str) -> int:
    """Send one message with the configured settings; print the provider's answer."""
    from pusher.cli.sendtest import send_test as run

    code, report = asyncio.run(run(settings, channel, to, text))
    print(report, file=sys.stdout if code == 0 else sys.stderr)
    return code


def wechat_menu(settings: Settings) -> int:
    """Set the official account's menu (最新通知, 我的订阅, 绑定/代收, 联系网格员)."""
    import json

    from channels.base import ChannelError
    from pusher.cli.wechat_menu import publish_menu
    from pusher.errors import UserError

    try:
        menu = asyncio.run(publish_menu(settings))
    except UserError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    except ChannelError as exc:
        print(f"菜单设置失败：{exc}", file=sys.stderr)
        return 1
    print(json.dumps(menu, ensure_ascii=False, indent=2))
    return 0


def forget_resident(settings: Settings, resident_id: int, *, reason: str) -> int:
    """Erase a resident's personal data on their request (audited, actor ``cli``)."""
    from pusher.db import create_engine, session_factory
    from pusher.errors import UserError
    from pusher.pipeline.lifecycle import erasure_reason
    from pusher.pipeline.lifecycle import forget_resident as forget

    async def go() -> dict[str, int]:
        engine = create_engine(settings.database_url.get_secret_value())
        try:
            db = session_factory(engine)
            return await forget(
                db, resident_id, actor="cli", reason=erasure_reason(reason), via="cli"
            )
        finally:
            await engine.dispose()

    try:
        counts = asyncio.run(go())
    except UserError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    rows = counts["deliveries"]
    print(f"已删除居民 {resident_id} 的个人信息（涉及投递记录 {rows} 条），已记入操作日志")
    return 0
