"""The ``pusher`` command: serve, worker, db upgrade, demo, match, emulate, bench."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from channels import registry
from pusher.cli.sendtest import choices as sendable
from pusher.ops.logs import configure_logging
from pusher.secret_keys import InsecureSettings
from pusher.settings import Settings

log = logging.getLogger("pusher")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pusher", description="政务信息精准推送服务")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the web app (and, in embedded mode, the jobs)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    worker = sub.add_parser("worker", help="run an arq worker (production mode)")
    worker.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    db = sub.add_parser("db", help="database commands")
    db.add_argument("action", choices=["upgrade"])
    demo = sub.add_parser("demo", help="build a demo town, run the pipeline, serve the console")
    demo.add_argument("--check", action="store_true", help="headless: exit 0 only if all is right")
    demo.add_argument("--port", type=int)
    demo.add_argument(
        "-v", "--verbose", action="store_true", help="log lines on the terminal, not var/demo.log"
    )
    imp = sub.add_parser("import", help="import data")
    imp.add_argument("what", choices=["residents"])
    imp.add_argument(
        "file", type=Path, help=".xlsx or .csv with 姓名, 手机号, 所属网格, 微信, 标签"
    )
    user = sub.add_parser("user", help="create a user or reset their password and role")
    user.add_argument("action", choices=["set"])
    user.add_argument("username")
    user.add_argument(
        "--role",
        required=True,
        choices=["admin", "publisher", "reviewer", "leader", "grid_worker"],
    )
    user.add_argument(
        "--duty", action="store_true", help="duty officer (值班): may approve urgent items alone"
    )
    user.add_argument("--password", help="default: read from PUSHER_USER_PASSWORD or prompt")
    user.add_argument("--name", default="", help="display name")
    user.add_argument("--region", action="append", default=[], help="region code (grid workers)")
    user.add_argument("--phone", help='mobile number for 待办提醒 ("" clears it)')
    user.add_argument("--openid", help='WeChat openid for 待办提醒 ("" clears it)')
    consent = user.add_mutually_exclusive_group()
    consent.add_argument(
        "--notify", dest="notify", action="store_true", default=None,
        help="the user agreed to be told of waiting work by WeChat or SMS",
    )  # fmt: skip
    consent.add_argument(
        "--no-notify", dest="notify", action="store_false", help="the user withdrew that consent"
    )
    resident = sub.add_parser("resident", help="resident data: erase on the resident's request")
    resident.add_argument("action", choices=["forget"])
    resident.add_argument("resident_id", type=int)
    resident.add_argument("--reason", required=True, help="why (e.g. the resident's request)")
    wx = sub.add_parser("wechat", help="official account set-up")
    wx.add_argument("action", choices=["menu"], help="menu: set the menu from PUSHER_WX__MENU")
    send = sub.add_parser("send-test", help="send one test message with the configured provider")
    send.add_argument("channel", choices=sendable())
    send.add_argument("--to", required=True, help="openid, robot webhook key or mobile number")
    send.add_argument("--text", default="", help="message text (default: a standard test text)")
    match = sub.add_parser("match", help="offline matching: rules + items in, JSON lines out")
    match.add_argument("--rules", type=Path, required=True)
    match.add_argument("--items", type=Path, required=True)
    emulate = sub.add_parser("emulate", help="run a provider emulator on localhost")
    emulate.add_argument("provider", choices=[p.cli for p in registry.emulated()])
    emulate.add_argument("--port", type=int, default=9000)
    emulate.add_argument("--host", default="127.0.0.1", help="0.0.0.0 inside a container")
    emulate.add_argument("--error-rate", type=float, default=0.0, help="share answered HTTP 500")
    emulate.add_argument("--timeout-rate", type=float, default=0.0, help="share held too long")
    emulate.add_argument(
        "--accept-drop-rate", type=float, default=0.0, help="share handled, answer then lost"
    )
    emulate.add_argument("--token-expiry-after", type=int, help="WeChat: calls per token")
    emulate.add_argument("--callback-url", help="WeChat: where events are POSTed")
    emulate.add_argument(
        "--callback-token", default="", help="WeChat: signs events (PUSHER_WECHAT__TOKEN)"
    )
    emulate.add_argument("--report-url", help="SMS: where delivery reports are POSTed")
    emulate.add_argument(
        "--account", type=Path, help="YAML/JSON: the account's signs, templates, followers, keys"
    )
    bench = sub.add_parser("bench", help="run benchmarks; figures to stdout and bench/results/")
    bench.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    bench.add_argument("--quick", action="store_true")
    bench.add_argument("--smoke", action="store_true", help="smallest shapes, no results kept")
    bench.add_argument(
        "--sms", choices=("aliyun", "cmpp"), help="chaos: the SMS provider (default: aliyun)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"配置有误（PUSHER_ 环境变量或 .env）：{exc}", file=sys.stderr)
        return 2
    configure_logging(json=settings.log_json, level=settings.log_level)
    try:
        return _run(args, settings)
    except InsecureSettings as exc:
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from pusher.cli import commands

    if args.command == "serve":
        return commands.serve(settings, host=args.host, port=args.port)
    if args.command == "worker":
        return commands.worker(settings, burst=args.burst)
    if args.command == "db":
        return commands.db_upgrade(settings)
    if args.command == "demo":
        return commands.demo(settings, check=args.check, port=args.port, verbose=args.verbose)
    if args.command == "import":
        return commands.import_residents(settings, args.file)
    if args.command == "user":
        return commands.set_user(
            settings,
            args.username,
            role=args.role,
            password=args.password,
            name=args.name,
            regions=args.region,
            duty=args.duty,
            phone=args.phone,
            openid=args.openid,
            notify=args.notify,
        )
    if args.command == "resident":
        return commands.forget_resident(settings, args.resident_id, reason=args.reason)
    if args.command == "wechat":
        return commands.wechat_menu(settings)
    if args.command == "send-test":
        return commands.send_test(settings, args.channel, to=args.to, text=args.text)
    if args.command == "match":
        return commands.match(args.rules, args.items)
    if args.command == "emulate":
        from pusher.cli.emulate import EmulatorOptions, serve_emulator

        options = EmulatorOptions(
            error_rate=args.error_rate,
            timeout_rate=args.timeout_rate,
            accept_drop_rate=args.accept_drop_rate,
            token_expiry_after=args.token_expiry_after,
            callback_url=args.callback_url,
            callback_token=args.callback_token,
            report_url=args.report_url,
            account_file=args.account,
        )
        return serve_emulator(
            args.provider,
            port=args.port,
            host=args.host,
            options=options,
            loop=settings.event_loop,
        )
    return commands.bench(args.names, quick=args.quick, smoke=args.smoke, sms=args.sms)


if __name__ == "__main__":
    raise SystemExit(main())
