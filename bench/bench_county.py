"""County: one urgent warning to a whole county through the production stack.

Run: ``pusher bench county [--quick]`` (or ``.venv/bin/python bench/bench_county.py``).

Production mode, each part its own process (``bench/stack.py``): a scratch PostgreSQL
database on the machine's server, our own ``redis-server`` on a free port, the WeChat
and Aliyun SMS emulators (normal latency, no faults), ``pusher serve`` (API and
receipts) and two ``pusher worker`` processes. The county (``bench/county_town.py``):
1,000,000 residents (50,000 with ``--quick``), 60% following the account, 35% SMS
only, 5% unreachable, in 20 towns, 200 villages and 1,000 grids, plus a small town.

First, 20 urgent items for the small town are published one after another through the
API (created and submitted by a publisher, approved in one step by a leader) and the
time from approval to the first message at an emulator is taken (p50). Then one urgent
warning for the whole county goes the same way. Figures, from the moment its approval
is sent: first message at an emulator (the inboxes are polled every 10 ms), last SMS and
last WeChat message accepted (the deliveries' ``sent_at``), all receipts applied (their
``done_at``); CPU seconds per 1,000 deliveries and peak RSS of each process kind, read
from /proc — the PostgreSQL backends are those of the scratch database in
``pg_stat_activity`` (sampled every second; pg_stat_statements is not enabled on the
machine's server); and the emulators' counts of residents reached, lost and duplicated.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import types
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg  # type: ignore[import-untyped]
from county_town import County, build_county
from cpumeter import COST_FIELDS, Meter, split_cost
from stack import (
    Cluster,
    Database,
    Proc,
    free_port,
    inbox,
    production_env,
    pusher,
    redis_server,
    wait_for_ports,
    wait_for_text,
)

from pusher.ops.migrate import upgrade

sys.modules.setdefault(__name__, types.ModuleType(__name__))
SECRETS = ("county-callback-secret-0123456789abcdef", "county-session-key-0123456789abcdef012")
WECHAT_TOKEN = "county-wechat-token"
#: Small-town items published before the measured ones (jieba, rules, connections warm up).
WARMUP = 2


#: Process kinds whose CPU is reported (see ``cpumeter``).
KINDS = ("worker", "postgres", "postgres_autovacuum", "web", "emulators", "redis", "postgres_aux")


@dataclass(frozen=True)
class Shape:
    residents: int
    small_items: int
    push_limit: float  # seconds the county push may take before the bench gives up
    receipt_limit: float


SHAPES = {
    "full": Shape(1_000_000, 20, 900.0, 300.0),
    "quick": Shape(50_000, 20, 300.0, 120.0),
    "smoke": Shape(2_000, 3, 120.0, 60.0),
}


def _cluster(db_url: str, tmp: Path) -> Cluster:
    ports = {"redis": free_port(), "wechat": free_port(), "sms": free_port(), "web": free_port()}
    env = production_env(db_url, tmp, ports, name="county", secrets=SECRETS)
    env["PUSHER_WECHAT__TOKEN"] = WECHAT_TOKEN
    # the default template quota is 100,000 a day; a county account asks WeChat for one
    # that covers its followers (600,000 here) and sets it, as the README says
    env["PUSHER_WECHAT__DAILY_QUOTA"] = "2000000"
    ours = f"http://127.0.0.1:{ports['web']}"
    report = f"{ours}/callbacks/aliyun/report/{SECRETS[0]}"
    services = [
        Proc(
            "wechat",
            pusher(
                *("emulate", "wechat", "--port", str(ports["wechat"])),
                *("--callback-url", f"{ours}/callbacks/wechat", "--callback-token", WECHAT_TOKEN),
            ),
            env,
            tmp / "wechat.log",
        ),
        Proc(
            "aliyun",
            pusher("emulate", "aliyun-sms", "--port", str(ports["sms"]), "--report-url", report),
            env,
            tmp / "aliyun.log",
        ),
        Proc("serve", pusher("serve", "--port", str(ports["web"])), env, tmp / "serve.log"),
    ]
    workers = [Proc(f"worker{n}", pusher("worker"), env, tmp / f"worker{n}.log") for n in (0, 1)]
    return Cluster(redis_server(ports["redis"], tmp / "redis.log", env), services, workers, ports)


class Api:
    """The county office: a publisher writes and submits, a leader approves in one step."""

    def __init__(self, http: aiohttp.ClientSession, base: str, tokens: dict[str, str]) -> None:
        self._http, self._base, self._tokens = http, base, tokens

    async def _post(self, path: str, role: str, body: Any = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._tokens[role]}"}
        async with self._http.post(f"{self._base}{path}", json=body, headers=headers) as resp:
            if resp.status >= 300:
                raise RuntimeError(f"POST {path}: {resp.status} {await resp.text()}")
            got: dict[str, Any] = await resp.json()
            return got

    async def publish(self, title: str, body: str, region_code: str) -> tuple[int, float]:
        """An urgent item, submitted and approved; (its id, wall time the approval left)."""
        item = {
            "title": title,
            "body": body,
            "publisher": "示范县人民政府",
            "region_code": region_code,
            "urgency": "urgent",
            # without a date (here or in the text) the WeChat template's time field would
            # be empty, which WeChat refuses (47003): every message would fall back to SMS
            "published_at": datetime.now(UTC).isoformat(),
        }
        item_id = int((await self._post("/api/v1/items", "publisher", item))["id"])
        await self._post(f"/api/v1/items/{item_id}/submit", "publisher")
        approved = time.time()
        decision = {"step": "urgent", "decision": "approve", "opinion": "情况紧急，同意立即发布"}
        await self._post(f"/api/v1/items/{item_id}/review", "leader", decision)
        return item_id, approved


class Inboxes:
    """Messages the two emulators have accepted, counted from their inboxes."""

    def __init__(self, http: aiohttp.ClientSession, ports: list[int]) -> None:
        self._http, self._ports = http, ports

    async def total(self) -> int:
        async def one(port: int) -> int:
            async with self._http.get(f"http://127.0.0.1:{port}/emulator/inbox") as resp:
                got: dict[str, list[str]] = await resp.json()
                return sum(len(texts) for texts in got.values())

        return sum(await asyncio.gather(*(one(p) for p in self._ports)))

    async def when_above(self, count: int, *, within: float, every: float = 0.01) -> float:
        """Wall time at which the total first exceeded ``count``."""
        deadline = time.monotonic() + within
        while await self.total() <= count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no message after {within} s")
            await asyncio.sleep(every)
        return time.time()


async def _small_town(api: Api, inboxes: Inboxes, county: County, items: int) -> list[float]:
    """Approval → first message of each measured small-town item, in ms."""
    delays, reach = [], len(county.small_town)
    base = await inboxes.total()
    for k in range(WARMUP + items):
        title = f"小岭镇山洪灾害紧急预警（第{k + 1}号）"
        _, approved = await api.publish(
            title, "山洪预警：请沿河群众立即转移。", county.small_town_code
        )
        first = await inboxes.when_above(base, within=30, every=0.005)
        if k >= WARMUP:
            delays.append(round((first - approved) * 1000, 1))
        base += reach
        await inboxes.when_above(base - 1, within=60)
    return delays


async def _done(conn: Any, item_id: int) -> bool:
    """Cheap: the push is done, every range claimed and no row in flight or waiting."""
    row = await conn.fetchrow(
        "SELECT p.status, EXISTS (SELECT 1 FROM delivery_range r WHERE r.push_id = p.id"
        " AND r.claimed_upto < r.upto_id) AS unclaimed, EXISTS (SELECT 1 FROM delivery d"
        " WHERE d.push_id = p.id AND d.next_attempt_at IS NOT NULL) AS open"
        " FROM push p WHERE p.item_id = $1",
        item_id,
    )
    return row is not None and row["status"] == "done" and not row["unclaimed"] and not row["open"]


async def _awaiting_receipts(conn: Any, item_id: int) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM delivery d JOIN push p ON p.id = d.push_id"
            " WHERE p.item_id = $1 AND d.status = 'sent')",
            item_id,
        )
    )


async def _until(check: Callable[[], Awaitable[bool]], limit: float) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(1.0)
    return False


async def _times(conn: Any, item_id: int) -> dict[str, Any]:
    """Deliveries by channel and status, the last acceptance per channel and the last
    receipt applied (epoch seconds)."""
    rows = await conn.fetch(
        "SELECT d.channel, d.status, count(*) AS n, max(extract(epoch FROM d.sent_at)) AS sent,"
        " max(extract(epoch FROM d.done_at)) AS done FROM delivery d JOIN push p"
        " ON p.id = d.push_id WHERE p.item_id = $1 GROUP BY 1, 2",
        item_id,
    )

    def last(channel: str) -> float | None:
        sent = [float(r["sent"]) for r in rows if r["channel"] == channel and r["sent"]]
        return max(sent, default=None)

    done = [float(r["done"]) for r in rows if r["done"] and r["status"] == "delivered"]
    writes = await conn.fetchrow(
        "SELECT n_tup_upd AS updates, n_tup_hot_upd AS hot FROM pg_stat_user_tables"
        " WHERE relname = 'delivery'"
    )
    commits = await conn.fetchval(
        "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
    )
    return {
        "row_updates": int(writes["updates"]),
        "hot_updates": int(writes["hot"]),
        "commits": int(commits),
        "statuses": {f"{r['channel']}:{r['status']}": int(r["n"]) for r in rows},
        "last": {"sms": last("sms"), "wechat": last("wechat")},
        "done": max(done, default=None),
    }


async def _count(cluster: Cluster, county: County, small_items: int) -> dict[str, int]:
    """Reached / lost / duplicated at the emulators: small-town residents expect one
    message per small-town item besides the county's, everyone else one."""
    got: Counter[int] = Counter()
    strangers = 0
    for name in ("wechat", "sms"):
        for recipient, texts in (await inbox(cluster.ports[name], wait=300)).items():
            if recipient in county.recipients:
                got[county.recipients[recipient]] += len(texts)
            else:
                strangers += len(texts)
    residents = set(county.recipients.values())
    small = 1 + WARMUP + small_items
    expect = {r: small if r in county.small_town else 1 for r in residents}
    return {
        "reachable": len(residents),
        "reached": sum(1 for r in residents if got[r] >= 1),
        "lost": sum(1 for r in residents if got[r] < expect[r]),
        "duplicated": sum(1 for r in residents if got[r] > expect[r]),
        "extra_messages": sum(max(0, got[r] - expect[r]) for r in residents) + strangers,
    }


def _pids(cluster: Cluster) -> dict[int, str]:
    kinds = {"worker": cluster.workers, "web": cluster.services[2:]}
    kinds |= {"emulators": cluster.services[:2], "redis": [cluster.redis]}
    return {p.popen.pid: k for k, procs in kinds.items() for p in procs if p.popen is not None}


@dataclass
class Run:
    approved: float
    first: float
    finished: bool
    settled: bool
    times: dict[str, Any]
    meter: Meter
    cost: dict[str, float | None]


async def _push(
    db: Database, cluster: Cluster, office: tuple[Api, Inboxes], county: County, shape: Shape
) -> Run:
    """The county's warning, from approval to the last receipt."""
    api, inboxes = office
    conn = await asyncpg.connect(db.url)
    meter = Meter(db.url, _pids(cluster), ignore=(conn.get_server_pid(),))
    try:
        base = await inboxes.total()
        await meter.sample(baseline=True)
        sampler = asyncio.create_task(meter.run())
        title, body = "示范县山洪灾害紧急预警", "上游水库泄洪，请沿河群众立即转移到安全地带。"
        item_id, approved = await api.publish(title, body, county.county_code)
        first = await inboxes.when_above(base, within=120)
        finished = await _until(lambda: _done(conn, item_id), shape.push_limit)

        async def settled() -> bool:
            return not await _awaiting_receipts(conn, item_id)

        receipts = await _until(settled, shape.receipt_limit)
        meter.stop()
        await sampler
        await meter.sample()
        times = await _times(conn, item_id)
        cost: dict[str, float | None] = dict.fromkeys(COST_FIELDS)
        if finished:
            cost = await split_cost(conn, meter, item_id, approved, times["last"])
    finally:
        await meter.close()
        await conn.close()
    return Run(approved, first, finished, receipts, times, meter, cost)


def _since(t0: float, t: float | None) -> float | None:
    return None if t is None else round(t - t0, 3)


def _figures(run: Run, delays: list[float]) -> dict[str, Any]:
    t0, last, meter = run.approved, run.times["last"], run.meter
    statuses: dict[str, int] = run.times["statuses"]
    accepted = sum(n for k, n in statuses.items() if k.endswith((":sent", ":delivered")))
    last_accept = max((t for t in last.values() if t is not None), default=None)
    done = run.times["done"]
    per_1k = {
        f"cpu_s_per_1k_{kind}": round(meter.cpu(kind) / max(accepted, 1) * 1000, 4)
        for kind in KINDS
    }
    return {
        "small_town_items": len(delays),
        "small_town_first_p50_ms": statistics.median(delays) if delays else None,
        "small_town_first_ms": json.dumps(delays),
        "first_message_s": _since(t0, run.first),
        "last_sms_s": _since(t0, last["sms"]),
        "last_wechat_s": _since(t0, last["wechat"]),
        "all_accepted_s": _since(t0, last_accept),
        "receipts_applied_s": _since(t0, done),
        "receipts_after_last_accept_s": _since(last_accept, done) if last_accept else None,
        "pushed_within_limit": run.finished,
        "receipts_within_limit": run.settled,
        "accepted": accepted,
        "statuses": json.dumps(statuses),
        # every delivery row update and commit in the database (small-town items included)
        "delivery_updates_per_accepted": round(run.times["row_updates"] / max(accepted, 1), 2),
        "hot_update_share": round(run.times["hot_updates"] / max(run.times["row_updates"], 1), 3),
        "commits_per_accepted": round(run.times["commits"] / max(accepted, 1), 2),
        **per_1k,
        "us_per_sms_worker_pg": run.cost["us_per_sms"],
        "us_per_wechat_worker_pg": run.cost["us_per_wechat"],
        # of each of those two: its share of planning (every row, unreachable included)
        "us_planning_per_message": run.cost["us_planning_per_message"],
        # every row's planning charged to the SMS part (an upper bound, steadier)
        "us_per_sms_all_planning": run.cost["us_per_sms_all_planning"],
        "peak_rss_mb_workers": json.dumps(meter.rss("worker")),
        "peak_rss_mb_web": max(meter.rss("web"), default=None),
        "peak_rss_mb_postgres_backend_max": max(meter.rss("postgres"), default=None),
    }


async def _measure(shape: Shape) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="pusher-county-"))  # the processes' logs stay here
    load = os.getloadavg()
    async with Database.create() as db:
        await asyncio.to_thread(upgrade, db.sqlalchemy_url)
        seeding = time.monotonic()
        county = await build_county(db.url, shape.residents)
        seeded = round(time.monotonic() - seeding, 1)
        cluster = _cluster(db.sqlalchemy_url, tmp)
        cluster.start()
        try:
            await wait_for_ports(cluster)
            for worker in cluster.workers:
                await asyncio.to_thread(wait_for_text, worker, "Starting worker")
            timeout = aiohttp.ClientTimeout(total=120)
            async with aiohttp.ClientSession(timeout=timeout) as http:
                api = Api(http, f"http://127.0.0.1:{cluster.ports['web']}", county.tokens)
                inboxes = Inboxes(http, [cluster.ports["wechat"], cluster.ports["sms"]])
                delays = await _small_town(api, inboxes, county, shape.small_items)
                run = await _push(db, cluster, (api, inboxes), county, shape)
            counts = await _count(cluster, county, shape.small_items)
        finally:
            cluster.stop()
    return {
        "residents": shape.residents,
        "wechat_residents": county.wechat,
        "sms_residents": county.sms,
        "seed_s": seeded,
        **_figures(run, delays),
        **counts,
        "load_avg_1m_before_after": f"{load[0]:.2f} / {os.getloadavg()[0]:.2f}",
        "cpu_source": "/proc of each process; PostgreSQL: pg_stat_activity pids of the database",
        "logs": str(tmp),
    }


def run(*, quick: bool, smoke: bool = False) -> list[dict[str, Any]]:
    """One row: the county push's times, costs and counts at the phones."""
    shape = SHAPES["smoke" if smoke else "quick" if quick else "full"]
    return [asyncio.run(_measure(shape))]


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv, smoke="--smoke" in sys.argv):
        print(json.dumps(row, ensure_ascii=False, indent=1))
