"""Dispatch throughput with delivery rows persisted, against emulators in their own process.

Run: ``pusher bench dispatch [--quick]``.

For each provider a fresh SQLite database holds one push with N deliveries:
residents bulk-inserted, then the push planned by ``plan_push`` as the service
plans one (delivery rows in claim ranges, the path a planned push takes; not
timed). Then
``pusher.pipeline.dispatch.dispatch`` runs with the real client pointed at the
provider's emulator, started as ``python -m pusher.cli.main emulate PROVIDER`` in a
separate process so it shares neither our event loop nor our CPU time slice.
The figure is deliveries recorded per second (claim, send, record), i.e.
messages/s for WeChat (one call per message) and recipients/s for SMS (Aliyun
SendSms takes 1000 numbers a call, Tencent 200). One million SMS recipients
are extrapolated linearly from the measured N and said so; the full run also
dispatches one million Aliyun recipients for real, once.

Apprise comparison, two pairs of rows in one run: both sides post one JSON request
per message to the same trivial sink (another process answering
``{"errcode":0,"msgid":N}``), Apprise 2.x through its generic ``json://`` plugin
(it has no plugin for the WeChat official-account template API). (a) Client
only: ours through :class:`WeChatChannel` in batches of its
``limits.batch_size``, without the database. (b) Status persisted: ours is the
real dispatch path on rows written by ``plan_push`` (claimed, sent, outcomes
recorded), Apprise sends the same rows' messages and writes each one's status
with an UPDATE (:func:`apprise_persisted`); SQLite on both sides. The
comparison is its own benchmark: ``pusher bench apprise`` (``bench/bench_apprise.py``).

Every figure is measured ``REPEATS`` times; rows give the best and the median,
and the machine's 1-minute load average when the runs started. Because the
development machine is shared, rows also give the CPU time per message of our
process (all threads) and of the server process: ``cpu_bound_per_core_per_s``
is what our process would reach on a core of its own if nothing else limited it.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import aiohttp
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy import Table, func, insert, select

from channels.aliyun_sms import AliyunSmsChannel, AliyunSmsSettings
from channels.base import Accepted, Channel, ChannelKind, Message
from channels.ratelimit import MemoryRateLimiter
from channels.tencent_sms import TencentSmsChannel, TencentSmsSettings
from channels.wechat import WeChatChannel, WeChatSettings
from channels.wechat_token import MemoryTokenStore
from pusher.cli.bench import scratch_database
from pusher.db import SessionFactory, create_engine, session_factory, transaction
from pusher.models import Delivery, Group, GroupKind, Item, ItemMatch, Region, Resident
from pusher.ops.metrics import Metrics
from pusher.ops.migrate import upgrade
from pusher.pipeline.dispatch import Dispatcher, dispatch
from pusher.pipeline.plan import plan_push
from pusher.runtime.event_loop import new_loop
from pusher.runtime.heap import settle_heap
from pusher.settings import DispatchSettings, QuietHours, Settings

# NamedTuple, not dataclass: ``pusher bench`` loads this file without registering it
# in sys.modules, which dataclasses need under ``from __future__ import annotations``.
ROOT = Path(__file__).resolve().parents[1]
RESIDENTS: Table = Resident.__table__
DELIVERIES: Table = Delivery.__table__
REPEATS = 3
T = TypeVar("T")
KEY, SECRET, WX_APP = "emulator-key", "emulator-secret", "wx-emulator"
SMS_TEXT = "【政务公开】青山镇：明日8时至18时停水，请提前储水。详见 https://t.cn/abc"
WX_TEXTS = {
    "text": "明日8时至18时停水，请提前储水",
    "params": {"thing1": "停水通知", "time2": "2026年11月23日 08:00", "thing3": "请提前储水"},
    "url": "https://example.gov.cn/s/abc",
}


def on_worker_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` as in ``pusher worker``: on its event loop (uvloop by default), the
    heap settled as it settles it once started (:mod:`pusher.runtime.heap`; whatever
    runs later in this process, Apprise included, keeps those settings)."""
    settle_heap()
    with asyncio.Runner(loop_factory=lambda: new_loop(Settings().event_loop)) as runner:
        return runner.run(main)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server(NamedTuple):
    """A server in a process of its own: its base URL and process id."""

    url: str
    pid: int

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def _process(args: list[str], port: int) -> Iterator[Server]:
    """Run ``args`` (a server on ``port``) in its own process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError(f"server {args} did not start on port {port}")
        yield Server(f"http://127.0.0.1:{port}/", proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)


def emulator(provider: str) -> Any:
    """A context manager: the app ``pusher emulate PROVIDER`` serves, in its own process.

    Started through this file rather than ``python -m pusher.cli.main emulate`` only to
    leave out aiohttp's access log, which the CLI's INFO logging turns on and which
    costs the emulator about half again its CPU per request (measured: 727 vs 483 µs).
    """
    port = _free_port()
    cmd = [sys.executable, str(Path(__file__).resolve()), "emulate", provider, str(port)]
    return _process(cmd, port)


def sink() -> Any:
    """A context manager: the trivial JSON sink of this file, in its own process."""
    port = _free_port()
    return _process([sys.executable, str(Path(__file__).resolve()), "sink", str(port)], port)


# -- the database: one push with n deliveries, planned by plan_push ---------------------------


async def _fill(url: str, n: int, kind: ChannelKind, recipient: Callable[[int], str]) -> int:
    """Residents bulk-inserted, one urgent item matched to the town's region group, and its
    push planned by :func:`plan_push` as the service plans one (delivery rows and claim
    ranges, no ``next_attempt_at``), none of it timed; returns the push id.

    The residents follow the account for a WeChat run and have only a phone for an SMS
    run, so planning picks ``kind`` for every one of them.
    """
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    db = session_factory(engine)
    try:
        async with transaction(db) as s:
            region = Region(code="360123101", name="青山镇", kind="town", path="/360123101/")
            s.add(region)
            await s.flush()
            group = Group(name="青山镇全体", kind=GroupKind.REGION, region_id=region.id)
            item = Item(
                title="停水通知",
                body="明日停水",
                publisher="青山镇人民政府",
                region_id=region.id or 0,
                urgency="urgent",
                status="approved",
            )
            s.add_all([group, item])
            await s.flush()
            s.add(ItemMatch(item_id=item.id or 0, group_id=group.id or 0, reasons=[]))
            follows = kind is ChannelKind.WECHAT
            for lo in range(0, n, 10_000):
                ids = range(lo + 1, min(lo + 10_000, n) + 1)
                rows = [_resident(i, region.id, recipient(i), follows=follows) for i in ids]
                await s.execute(insert(RESIDENTS), rows)
        assert item.id is not None
        d = DispatchSettings()
        push_id = await plan_push(
            db,
            item.id,
            chunk=d.plan_chunk,
            span=d.claim_range,
            texts_for=_texts,
            on_chunk=_nothing,
        )
        assert push_id is not None
        await _check_planned(db, n, kind)
        return push_id
    finally:
        await engine.dispose()


async def _check_planned(db: SessionFactory, n: int, kind: ChannelKind) -> None:
    """Every resident got a fresh row on ``kind`` (no retry time: the planned path)."""
    c = DELIVERIES.c
    async with db() as s:
        fresh = await s.scalar(
            select(func.count()).where(c.channel == kind.value, c.next_attempt_at.is_(None))
        )
    if fresh != n:
        raise RuntimeError(f"planning wrote {fresh} fresh {kind.value} rows of {n}")


def _texts(_item: Item) -> dict[str, Any]:
    return {"wechat": WX_TEXTS, "sms": {"text": SMS_TEXT}, "wecom": {"text": SMS_TEXT}}


async def _nothing(_push: int, _number: int) -> None:
    return None


def _resident(i: int, region_id: int | None, address: str, *, follows: bool) -> dict[str, Any]:
    return {
        "id": i,
        "name": f"居民{i}",
        "region_id": region_id,
        "phone": address if not follows else f"139{i:08d}",
        "openid": address if follows else None,
        "wechat_follows": follows,
        "sms_consent": True,
        "wechat_opt_out": False,
        "sms_opt_out": False,
        "created_at": datetime.now(UTC),
    }


# -- dispatch through an emulator -----------------------------------------------------------

ChannelFactory = Callable[[str, aiohttp.ClientSession], Channel]


def wechat_channel(
    base: str, http: aiohttp.ClientSession, *, max_concurrency: int | None = None
) -> Channel:
    settings = WeChatSettings(
        app_id=WX_APP, app_secret=SecretStr(SECRET), base_url=base, template_id="TPL-bench"
    )
    if max_concurrency is not None:
        settings = settings.model_copy(update={"max_concurrency": max_concurrency})
    return WeChatChannel(settings, session=http, tokens=MemoryTokenStore())


def wechat_channel_8(base: str, http: aiohttp.ClientSession) -> Channel:
    """The WeChat client with 8 calls in flight instead of the default 32."""
    return wechat_channel(base, http, max_concurrency=8)


def aliyun_channel(base: str, http: aiohttp.ClientSession) -> Channel:
    settings = AliyunSmsSettings(
        access_key_id=KEY,
        access_key_secret=SecretStr(SECRET),
        sign_name="政务公开",
        template_code="SMS_100",
        base_url=base,
    )
    return AliyunSmsChannel(settings, session=http)


def tencent_channel(base: str, http: aiohttp.ClientSession) -> Channel:
    settings = TencentSmsSettings(
        secret_id=KEY,
        secret_key=SecretStr(SECRET),
        sdk_app_id="1400000001",
        sign_name="政务公开",
        template_id="T100",
        base_url=base,
    )
    return TencentSmsChannel(settings, session=http)


class Run(NamedTuple):
    """One timed run: wall seconds, and CPU seconds of our process and of the server's."""

    seconds: float
    cpu: float
    server_cpu: float


class Stopwatch:
    """Wall time and the CPU time of this process (all threads) and of ``server``."""

    def __init__(self, server: Server) -> None:
        self._server = server
        self._start = (time.perf_counter(), time.process_time(), server.cpu_seconds())

    def stop(self) -> Run:
        wall, cpu, server = self._start
        return Run(
            time.perf_counter() - wall,
            time.process_time() - cpu,
            self._server.cpu_seconds() - server,
        )


async def dispatch_once(
    server: Server,
    factory: ChannelFactory,
    kind: ChannelKind,
    n: int,
    recipient: Callable[[int], str],
    backend: str = "sqlite",
) -> Run:
    """Dispatch ``n`` deliveries of one push (the database is filled beforehand, untimed)."""
    async with scratch_database(backend) as url:
        push_id = await _fill(url, n, kind, recipient)
        engine = create_engine(url)
        db = session_factory(engine)
        async with aiohttp.ClientSession() as http:
            d = Dispatcher(
                db=db,
                channels={kind: factory(server.url, http)},
                limiter=MemoryRateLimiter(),
                metrics=Metrics(),
                settings=DispatchSettings(),
                quiet=QuietHours(start=0, end=0),
                worker="bench:1",
                clock=lambda: datetime.now(UTC),
            )
            watch = Stopwatch(server)
            tally = await dispatch(d, push_id, kind)
            run = watch.stop()
        async with db() as s:
            c = DELIVERIES.c
            sent = await s.scalar(
                select(func.count(func.distinct(c.provider_id))).where(c.status == "sent")
            )
        await engine.dispose()
    if tally.sent != n or sent != n:
        raise RuntimeError(f"{kind}: {tally.sent} sent, {sent} rows sent of {n}: {tally.codes}")
    return run


# -- the Apprise comparison ------------------------------------------------------------------


def _sink_app() -> web.Application:
    msgids = count(1)

    async def token(_: web.Request) -> web.Response:
        return web.json_response({"access_token": "sink-token", "expires_in": 7200})

    async def accept(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": next(msgids)})

    app = web.Application()
    app.router.add_get("/cgi-bin/token", token)
    app.router.add_post("/{tail:.*}", accept)
    return app


def _messages(n: int) -> list[Message]:
    params = WX_TEXTS["params"]
    assert isinstance(params, dict)
    return [Message(f"m{i}", f"oBench{i:08d}", "停水通知", params=params) for i in range(n)]


async def ours_to_sink(server: Server, n: int) -> Run:
    """Our WeChat client sends ``n`` messages, ``limits.batch_size`` a batch as dispatch does."""
    messages = _messages(n)
    async with aiohttp.ClientSession() as http:
        channel = wechat_channel(server.url, http)
        size = channel.limits.batch_size
        watch = Stopwatch(server)
        for i in range(0, n, size):
            outcomes = await channel.send(messages[i : i + size])
            if not all(isinstance(o, Accepted) for o in outcomes):
                raise RuntimeError(f"sink refused: {outcomes[:1]}")
        return watch.stop()


def apprise_to_sink(server: Server, n: int) -> Run:
    """Apprise posts ``n`` messages, one ``json://`` service per recipient, one notify."""
    import logging

    import apprise

    logging.getLogger("apprise").setLevel(logging.ERROR)
    host = server.url.removeprefix("http://").rstrip("/")
    ap = apprise.Apprise()
    for i in range(n):
        ap.add(f"json://{host}/cgi-bin/message/template/send/oBench{i:08d}")
    watch = Stopwatch(server)
    ok = ap.notify(body="明日8时至18时停水，请提前储水", title="停水通知")
    run = watch.stop()
    if not ok:
        raise RuntimeError("apprise reported a failed notification")
    return run


# -- the Apprise comparison with every message's status persisted ----------------------------


async def ours_persisted(server: Server, n: int) -> Run:
    """The real dispatch path to the sink: rows written by ``plan_push`` (untimed), then
    claimed, sent through :class:`WeChatChannel` and their outcomes recorded (timed)."""
    return await dispatch_once(server, wechat_channel, ChannelKind.WECHAT, n, _openid)


#: How the Apprise side records a message's status: one UPDATE of its row per message.
APPRISE_STATUS = (
    "UPDATE delivery SET status = ?, provider = 'wechat', attempts = attempts + 1,"
    " sent_at = ?, done_at = ? WHERE id = ?"
)


def apprise_persisted(server: Server, n: int) -> Run:
    """Apprise sends the same push's messages and records each one's status the obvious way.

    The rows are the ones ``plan_push`` writes for us (a SQLite file, untimed, as on our
    side). Apprise gets one ``json://`` service per row, tagged with the row's id (added
    untimed, as in the client-only comparison), one ``notify`` (its thread pool sends in
    parallel), then an UPDATE per message's result through ``sqlite3`` with the pragmas
    pusher uses (WAL, ``synchronous=NORMAL``), committed once: the cheapest way a script
    could write them. Timed: the notify and the writes.
    """
    import logging
    import sqlite3
    import tempfile

    import apprise

    logging.getLogger("apprise").setLevel(logging.ERROR)
    host = server.url.removeprefix("http://").rstrip("/")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        asyncio.run(_fill(f"sqlite+aiosqlite:///{path}", n, ChannelKind.WECHAT, _openid))
        conn = sqlite3.connect(path)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            ap = apprise.Apprise()
            for row_id, recipient in conn.execute("SELECT id, recipient FROM delivery"):
                url = f"json://{host}/cgi-bin/message/template/send/{recipient}"
                ap.add(url, tag=str(row_id))
            watch = Stopwatch(server)
            result = ap.notify(body="明日8时至18时停水，请提前储水", title="停水通知")
            now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            for one in result:
                status = "sent" if one.status == apprise.AppriseResultStatus.SUCCESS else "failed"
                conn.execute(APPRISE_STATUS, (status, now, now, int(one.tag[0])))
            conn.commit()
            run = watch.stop()
            sent = conn.execute("SELECT count(*) FROM delivery WHERE status = 'sent'").fetchone()
        finally:
            conn.close()
    if sent[0] != n:
        raise RuntimeError(f"apprise: {sent[0]} rows sent of {n}")
    return run


def _apprise_persisted_rows(n: int, repeats: int) -> list[dict[str, Any]]:
    with sink() as server:
        ours, load_ours = _repeat(lambda: on_worker_loop(ours_persisted(server, n)), repeats)
        theirs, load_theirs = _repeat(lambda: apprise_persisted(server, n), repeats)
    rows = [
        _row("dispatch WeChat -> JSON sink, status persisted (SQLite)", n, ours, load_ours,
             "messages"),
        _row("Apprise json:// -> JSON sink, status UPDATE per message (SQLite)", n, theirs,
             load_theirs, "messages"),
    ]  # fmt: skip
    return _ratios(rows, ours, theirs)


def _ratios(rows: list[dict[str, Any]], ours: list[Run], theirs: list[Run]) -> list[dict[str, Any]]:
    """Put how many times faster and cheaper ours was on our row (best and median)."""
    best = min(r.seconds for r in theirs) / min(r.seconds for r in ours)
    median = statistics.median(r.seconds for r in theirs) / statistics.median(
        r.seconds for r in ours
    )
    cpu = statistics.median(r.cpu for r in theirs) / statistics.median(r.cpu for r in ours)
    rows[0] |= {
        "x_apprise_best": round(best, 1),
        "x_apprise_median": round(median, 1),
        "x_apprise_cpu": round(cpu, 1),
    }
    return rows


# -- running and reporting -------------------------------------------------------------------


def _repeat(measure: Callable[[], Run], repeats: int = REPEATS) -> tuple[list[Run], float]:
    load = os.getloadavg()[0]
    return [measure() for _ in range(repeats)], load


def _row(figure: str, n: int, runs: list[Run], load: float, unit: str) -> dict[str, Any]:
    rates = sorted(n / r.seconds for r in runs)
    cpu = statistics.median(r.cpu for r in runs) / n * 1e6
    return {
        "figure": figure,
        "n": n,
        f"best_{unit}_per_s": round(rates[-1]),
        f"median_{unit}_per_s": round(statistics.median(rates)),
        "our_cpu_us_each": round(cpu, 1),
        "cpu_bound_per_core_per_s": round(1e6 / cpu),
        "server_cpu_us_each": round(statistics.median(r.server_cpu for r in runs) / n * 1e6, 1),
        "runs_s": " ".join(f"{r.seconds:.2f}" for r in runs),
        "load_1min": round(load, 2),
    }


Case = tuple[str, str, ChannelFactory, ChannelKind, Callable[[int], str]]


def _openid(i: int) -> str:
    return f"oBench{i:08d}"


CASES: list[Case] = [
    ("wechat", "wechat", wechat_channel, ChannelKind.WECHAT, _openid),
    ("wechat", "wechat max_concurrency=8", wechat_channel_8, ChannelKind.WECHAT, _openid),
    ("aliyun-sms", "aliyun", aliyun_channel, ChannelKind.SMS, lambda i: f"139{i:08d}"),
    ("tencent-sms", "tencent", tencent_channel, ChannelKind.SMS, lambda i: f"139{i:08d}"),
]


def _dispatch_row(case: Case, n: int, repeats: int) -> dict[str, Any]:
    provider, name, factory, kind, recipient = case
    with emulator(provider) as server:
        runs, load = _repeat(
            lambda: on_worker_loop(dispatch_once(server, factory, kind, n, recipient)), repeats
        )
    unit = "messages" if kind is ChannelKind.WECHAT else "recipients"
    row = _row(f"dispatch {name} (emulator, rows persisted)", n, runs, load, unit)
    if kind is ChannelKind.SMS:
        row["1M_recipients_s_extrapolated"] = round(1_000_000 / row[f"best_{unit}_per_s"], 1)
    return row


def _apprise_rows(n: int, repeats: int) -> list[dict[str, Any]]:
    with sink() as server:
        ours, load_ours = _repeat(lambda: on_worker_loop(ours_to_sink(server, n)), repeats)
        theirs, load_theirs = _repeat(lambda: apprise_to_sink(server, n), repeats)
    rows = [
        _row("WeChatChannel -> JSON sink, client only", n, ours, load_ours, "messages"),
        _row("Apprise json:// -> JSON sink, client only", n, theirs, load_theirs, "messages"),
    ]
    return _ratios(rows, ours, theirs)


def _million_row() -> dict[str, Any]:
    """One million Aliyun recipients dispatched for real (one run: filling takes a while)."""
    provider, name, factory, kind, recipient = next(c for c in CASES if c[1] == "aliyun")
    n = 1_000_000
    with emulator(provider) as server:
        load = os.getloadavg()[0]
        run = on_worker_loop(dispatch_once(server, factory, kind, n, recipient))
    row = _row(f"dispatch {name}, 1M recipients measured", n, [run], load, "recipients")
    return row | {"1M_recipients_s": round(run.seconds, 1)}


def run(*, quick: bool, smoke: bool = False) -> list[dict[str, Any]]:
    """Dispatch figures per provider (and 1M SMS, full run); the Apprise comparison is
    ``pusher bench apprise`` (``bench/bench_apprise.py``).

    ``smoke``: every path once with a few hundred messages (figures mean nothing)."""
    shapes = {"smoke": (200, 1_000), "quick": (2_000, 10_000)}
    shape = "smoke" if smoke else "quick" if quick else "full"
    n_wechat, n_sms = shapes.get(shape, (20_000, 100_000))
    repeats = 1 if smoke else REPEATS
    rows = [_dispatch_row(c, n_wechat if c[0] == "wechat" else n_sms, repeats) for c in CASES]
    million = [] if quick or smoke else [_million_row()]
    return rows + million


def apprise_rows(n: int, repeats: int) -> list[dict[str, Any]]:
    """Versus Apprise in one run, side by side: (a) the clients alone, (b) with every
    message's status persisted (our real dispatch path; Apprise plus an UPDATE each)."""
    return _apprise_rows(n, repeats) + _apprise_persisted_rows(n, repeats)


def _serve(app: web.Application, port: int) -> None:
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    if sys.argv[1:2] == ["sink"]:
        _serve(_sink_app(), int(sys.argv[2]))
    elif sys.argv[1:2] == ["emulate"]:
        from pusher.cli.emulate import emulator_app

        _serve(emulator_app(sys.argv[2]), int(sys.argv[3]))
    else:
        from pusher.cli.bench import table

        print(table(run(quick="--quick" in sys.argv)))
