"""Chaos: one town-wide push through real processes while things break; counted at the phones.

Run: ``pusher bench chaos [--quick] [--sms cmpp]`` (or ``.venv/bin/python
bench/bench_chaos.py [--quick] [--sms cmpp]``).

Production mode, every part its own process: a PostgreSQL database of our own
on the machine's server, our own ``redis-server`` (port ``PUSHER_CHAOS_REDIS_PORT``,
default 6390, no persistence), the WeChat and Aliyun SMS emulators (``pusher
emulate`` with 5% HTTP 500, 5% timeouts and 5% answers lost after the message
was taken, and one WeChat token expiry),
``pusher serve`` for the receipts and two ``pusher worker`` processes with a
30 s lease (``PUSHER_CHAOS_LEASE_SECONDS``). 100,000 residents (5,000 with
``--quick``), 3 in 5 on WeChat, the rest on SMS. While the push runs, one worker
is killed with SIGKILL twice and restarted, and Redis is killed and started
again on the same port. A worker that exits on its own is restarted as a
supervisor would (and counted).

With ``--sms cmpp`` the SMS go to a CMPP 2.0 gateway instead of the Aliyun emulator:
the gateway (:class:`channels.emulators.cmpp.CmppGateway`) runs inside the bench's
own process, so the bench can read its inbox and cut its links; the workers log in
to it over TCP and hear the status reports on that connection (the database
receipt sink, no callback route). Its faults: 5% flow control (Result 8), 5%
Result 9, slow SUBMIT_RESPs (so a window is in flight), and the link dropped
mid-window twice during the push (the SUBMIT that trips it and the unanswered
ones before it are taken but never answered: outcomes the reports must settle).

Every provider also takes 5% of the requests in full and then loses the answer
(``--accept-drop-rate``, the gateway's ``accept_drop``): the message is in the
inbox and its receipt on its way, while the worker sees an unknown outcome and
must settle it without sending twice (WeChat's ``client_msg_id``, Aliyun's
QuerySendDetails by ``OutId``, CMPP's status reports). ``accept_dropped`` counts
them; a smoke run fails if there were none.

The town also has group chats (:mod:`chaos_groups`): WeCom robot chats and customer
groups with owners at a WeCom emulator process (the same faults), and relay groups. The
bench plays the owners, confirming each task 20 s after it appears (so the breaks fall
while tasks wait and are polled), and runs
the group job every 3 s. ``groups`` reports them: rows planned per kind, groups reached,
lost and duplicated (at the emulator's inbox), mass-message tasks (one per owner) and
customer-group rows still open; a smoke run fails on any of these.

The figures are taken at the emulators' inboxes (``GET /emulator/inbox``):
residents reached, lost (no message) and duplicated (more than one). Then the
bench waits (up to 300 s) until every message's receipt has been applied;
``receipts_settled_s`` runs from the last message a provider accepted (the
inboxes' clock) to the last receipt applied (the rows' ``done_at``).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
import types
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg  # type: ignore[import-untyped]
from chaos_groups import (
    DOWN,
    Owners,
    group_breaks,
    group_env,
    group_figures,
    poke_group_job,
    seed_groups,
    settle_groups,
    write_account,
)
from stack import SMS_TEMPLATES, Cluster, Database, Proc, production_env
from stack import free_port as _free_port
from stack import inbox as _inbox
from stack import port_in_use as _port_in_use
from stack import pusher as _pusher
from stack import wait_for_ports as _wait_for_ports

from channels.emulators.cmpp import CmppGateway
from channels.emulators.cmpp_faults import GatewayFaults
from pusher.cli.bench import RESIDENT_COLUMNS
from pusher.ops.migrate import upgrade

# ``pusher bench`` loads this file by path without registering it in sys.modules, which
# dataclasses look up under ``from __future__ import annotations``; an entry is enough.
sys.modules.setdefault(__name__, types.ModuleType(__name__))
REDIS_PORT = int(os.environ.get("PUSHER_CHAOS_REDIS_PORT", "6390"))
# Short, so a killed worker's claims are taken over quickly; at 10 s a loaded 2-core machine
# lets leases run out while a WeChat batch is still being sent (see the README figures).
LEASE = os.environ.get("PUSHER_CHAOS_LEASE_SECONDS", "30")
SECRET = "chaos-callback-secret-0123456789abcdef"
SESSION_KEY = "chaos-session-key-0123456789abcdef0123"
WECHAT_TOKEN = "chaos-wechat-token"
#: 5% HTTP 500, 5% held past the client's timeout, 5% taken and then the answer lost
FAULTS = ["--error-rate", "0.05", "--timeout-rate", "0.05", "--accept-drop-rate", "0.05"]
NOW = datetime(2026, 1, 1, tzinfo=UTC)
#: The SMS providers the bench can run with (``--sms``), Aliyun by default.
SMS_PROVIDERS = ("aliyun", "cmpp")
CMPP_SP, CMPP_SECRET, CMPP_SRC = "901234", "chaos-cmpp-secret", "10690001"


def _resident(n: int, region_id: int) -> tuple[Any, ...]:
    follows = n % 5 < 3
    openid = f"o{n:027d}" if follows else None
    return (f"居民{n}", region_id, f"13{n:09d}", openid, follows, True, False, False, NOW)


async def seed(db: Database, residents: int) -> tuple[int, dict[str, int], int, dict[str, int]]:
    """Migrate, add the town, its region group, an approved urgent item, the residents
    and the group chats (:mod:`chaos_groups`).

    Returns the item id, each recipient address's resident id, how many are on WeChat
    and how many group chats of each kind were registered.
    """
    await asyncio.to_thread(upgrade, db.sqlalchemy_url)
    conn = await asyncpg.connect(db.url)
    try:
        region = await conn.fetchval(
            "INSERT INTO region (code, name, kind, path) VALUES "
            "('360123101', '青山镇', 'town', '/360123101/') RETURNING id"
        )
        await conn.execute(
            "INSERT INTO push_group (name, kind, region_id) VALUES ('青山镇全体', 'region', $1)",
            region,
        )
        item = await conn.fetchval(
            "INSERT INTO item (title, body, publisher, region_id, disclosure, urgency, status,"
            " domains, created_at, updated_at) VALUES ('青山镇山洪紧急预警',"
            " '上游水库泄洪，请沿河群众立即转移到安全地带。', '青山镇人民政府', $1, '主动公开',"
            " 'urgent', 'approved', '[]', now(), now()) RETURNING id",
            region,
        )
        rows = [_resident(n, region) for n in range(residents)]
        await conn.copy_records_to_table("resident", records=rows, columns=RESIDENT_COLUMNS)
        pairs = await conn.fetch("SELECT id, coalesce(openid, phone) AS address FROM resident")
        recipients = {str(r["address"]): int(r["id"]) for r in pairs}
        # a WeChat resident's SMS (after a WeChat failure fell back) counts for them too
        for r in await conn.fetch("SELECT id, phone FROM resident WHERE openid IS NOT NULL"):
            recipients[str(r["phone"])] = int(r["id"])
        groups = await seed_groups(conn, region)
    finally:
        await conn.close()
    return int(item), recipients, sum(1 for r in rows if r[3]), groups


async def status_counts(db: Database, item_id: int) -> dict[str, Any]:
    """The residents' deliveries of the item's push by status (group rows are counted by
    :func:`chaos_groups.group_figures`), and the push's own status under "push"."""
    conn = await asyncpg.connect(db.url)
    try:
        push = await conn.fetchrow("SELECT id, status FROM push WHERE item_id = $1", item_id)
        if push is None:
            return {}
        rows = await conn.fetch(
            "SELECT status, count(*) AS n FROM delivery WHERE push_id = $1"
            " AND group_chat_id IS NULL GROUP BY status",
            push["id"],
        )
    finally:
        await conn.close()
    return {str(r["status"]): int(r["n"]) for r in rows} | {"push": push["status"]}


def _env(db_url: str, tmp: Path, ports: dict[str, int]) -> dict[str, str]:
    env = production_env(db_url, tmp, ports, name="chaos", secrets=(SECRET, SESSION_KEY))
    env |= {
        "PUSHER_DISPATCH__LEASE_SECONDS": LEASE,
        "PUSHER_DISPATCH__RETRY_DELAYS": "[2,4,8,16,32,64]",
        "PUSHER_WECHAT__TIMEOUT_SECONDS": "1.5",
        "PUSHER_WECHAT__MAX_CONCURRENCY": "32",
        # /callbacks/wechat answers only a configured token; the emulator signs with it
        "PUSHER_WECHAT__TOKEN": WECHAT_TOKEN,
        "PUSHER_ALIYUN_SMS__TIMEOUT_SECONDS": "3",
        # the strict emulator's account (below) signs as the suggested templates do
        "PUSHER_ALIYUN_SMS__SIGN_NAME": "青山镇人民政府",
    }
    return env


def _cmpp_env(port: int) -> dict[str, str]:
    """Send SMS over CMPP to the gateway on ``port``, with short timers for a short run."""
    return {
        "PUSHER_SMS_PROVIDER": "cmpp",
        "PUSHER_CMPP__HOST": "127.0.0.1",
        "PUSHER_CMPP__PORT": str(port),
        "PUSHER_CMPP__SP_ID": CMPP_SP,
        "PUSHER_CMPP__SHARED_SECRET": CMPP_SECRET,
        "PUSHER_CMPP__SRC_ID": CMPP_SRC,
        "PUSHER_CMPP__SIGN_NAME": "青山镇",
        "PUSHER_CMPP__RESPONSE_TIMEOUT_SECONDS": "5",
        "PUSHER_CMPP__RECONNECT_MAX_SECONDS": "2",
        "PUSHER_CMPP__SETTLE_SECONDS": "30",
    }


def _gateway() -> CmppGateway:
    """The CMPP gateway of a ``--sms cmpp`` run, with its steady faults (the link drops
    are scheduled by :class:`Chaos`)."""
    faults = GatewayFaults(
        slow_ack_seconds=0.2, flow_control=0.05, error=0.05, accept_drop=0.05, seed=18
    )
    return CmppGateway(sp_id=CMPP_SP, secret=CMPP_SECRET, src_id=CMPP_SRC, faults=faults)


def _cluster(
    db_url: str,
    tmp: Path,
    wechat_messages: int,
    *,
    chunk: int,
    lease: str = LEASE,
    cmpp_port: int | None = None,
) -> Cluster:
    sms = cmpp_port if cmpp_port is not None else _free_port()
    ports = {"redis": REDIS_PORT, "wechat": _free_port(), "sms": sms, "web": _free_port()}
    ports["wecom"] = _free_port()
    # 20 planning chunks: 20 dispatch jobs per channel, as many as the two workers run at once
    env = (
        _env(db_url, tmp, ports)
        | {
            "PUSHER_DISPATCH__PLAN_CHUNK": str(chunk),
            "PUSHER_DISPATCH__LEASE_SECONDS": lease,
            # a task creation with an unknown outcome is looked up after this, not 2 min
            "PUSHER_GROUP_TASK_LEASE_SECONDS": str(max(10, int(lease))),
        }
        | group_env(ports["wecom"])
    )
    if cmpp_port is not None:
        env |= _cmpp_env(cmpp_port)
    ours = f"http://127.0.0.1:{ports['web']}"
    redis = Proc(
        "redis",
        ["redis-server", "--port", str(REDIS_PORT), "--save", "", "--appendonly", "no"],
        env,
        tmp / "redis.log",
    )
    expiry = str(max(10, int(wechat_messages * 0.6)))  # one expiry during the push
    services = [
        Proc(
            "wechat-emulator",
            _pusher(
                *("emulate", "wechat", "--port", str(ports["wechat"]), *FAULTS),
                *("--token-expiry-after", expiry, "--callback-url", f"{ours}/callbacks/wechat"),
                *("--callback-token", WECHAT_TOKEN),
            ),
            env,
            tmp / "wechat.log",
        ),
        Proc(
            "wecom-emulator",
            # robots and the customer-group API, under the same faults
            _pusher(
                *("emulate", "wecom", "--port", str(ports["wecom"]), *FAULTS),
                *("--account", str(write_account(tmp / "wecom-account.json"))),
            ),
            env,
            tmp / "wecom.log",
        ),
        Proc("serve", _pusher("serve", "--port", str(ports["web"])), env, tmp / "serve.log"),
    ]
    if cmpp_port is None:  # the CMPP gateway runs in the bench's own process
        aliyun = _pusher(
            *("emulate", "aliyun-sms", "--port", str(ports["sms"]), *FAULTS),
            *("--report-url", f"{ours}/callbacks/aliyun/report/{SECRET}"),
            # a strict account holding only the suggested templates: pushes go through them
            *("--account", str(SMS_TEMPLATES / "aliyun.yaml")),
        )
        services.insert(1, Proc("aliyun-emulator", aliyun, env, tmp / "aliyun.log"))
    workers = [Proc(f"worker{n}", _pusher("worker"), env, tmp / f"worker{n}.log") for n in (0, 1)]
    return Cluster(redis, services, workers, ports)


async def _enqueue(redis_port: int, item_id: int) -> None:
    from arq.connections import RedisSettings, create_pool

    from pusher.runtime.queue import ArqQueue

    pool = await create_pool(RedisSettings(port=redis_port))
    try:
        queue = ArqQueue(pool, queue_name="pusher:chaos")
        await queue.enqueue("process_item", item_id, job_id=f"process:{item_id}")
    finally:
        await pool.aclose()


@dataclass
class Chaos:
    """What to break when: (share of messages accepted, action), done in order."""

    cluster: Cluster
    plan: list[tuple[float, str]]
    gateway: CmppGateway | None = None

    async def step(self, accepted_share: float, redis_port: int) -> None:
        while self.plan and accepted_share >= self.plan[0][0]:
            _, action = self.plan.pop(0)
            self.cluster.events.append(f"{action} at {accepted_share:.0%} accepted")
            if action == "kill worker0":
                self.cluster.workers[0].kill()
                await asyncio.sleep(1.0)
                self.cluster.workers[0].start()
            elif action == "restart redis":
                self.cluster.redis.kill()
                await asyncio.sleep(1.0)
                self.cluster.redis.start()
            elif action == "drop cmpp link" and self.gateway is not None:
                # upon the next SUBMIT: it and the unanswered ones before it are taken
                self.gateway.faults.drop_after_submits = 1


def _plan(cmpp: bool) -> list[tuple[float, str]]:
    """What breaks when: shares of messages accepted, in order."""
    plan = [(0.15, "kill worker0"), (0.35, "restart redis"), (0.6, "kill worker0")]
    if cmpp:
        plan += [(0.25, "drop cmpp link"), (0.5, "drop cmpp link")]
    return sorted(plan)


async def _run_push(
    db: Database,
    cluster: Cluster,
    item_id: int,
    limit: float,
    gateway: CmppGateway | None = None,
    *,
    residents: int,
    owners: Owners,
) -> tuple[float, bool]:
    """Enqueue the push and break things on schedule; (seconds, finished within ``limit``).

    Meanwhile the owners confirm their customer-group tasks and the group job runs every
    few seconds, so the breaks fall while tasks are created and polled."""
    started = time.monotonic()
    await _enqueue(cluster.ports["redis"], item_id)
    chaos = Chaos(cluster, _plan(gateway is not None), gateway)
    ticks = 0
    while time.monotonic() - started < limit:
        await asyncio.sleep(0.5)
        cluster.supervise()
        ticks += 1
        await _owners_and_job(owners, cluster.ports["redis"], ticks)
        counts = await status_counts(db, item_id)
        accepted = counts.get("sent", 0) + counts.get("delivered", 0)
        # shares of the whole town: dispatch starts while later chunks are still planned
        await chaos.step(accepted / residents, cluster.ports["redis"])
        if counts.get("push") == "done" and not counts.get("queued") and not counts.get("sending"):
            return time.monotonic() - started, True
    cluster.events.append(f"gave up after {limit:.0f} s")
    return time.monotonic() - started, False


async def _owners_and_job(owners: Owners, redis_port: int, tick: int) -> None:
    """The owners confirm what is due; every 3 s the customer-group job is run."""
    try:
        await owners.confirm_due()
        if tick % 6 == 1:
            await poke_group_job(redis_port, tick)
    except DOWN:
        pass  # Redis or an emulator is down for the moment: the next tick


async def _count(
    cluster: Cluster, recipients: dict[str, int], gateway: CmppGateway | None = None
) -> dict[str, int | str]:
    """Messages per resident over both channels, from the emulators' inboxes."""
    per_resident: Counter[int] = Counter()
    strangers = 0
    inboxes = [await _inbox(cluster.ports["wechat"])]
    if gateway is None:
        inboxes.append(await _inbox(cluster.ports["sms"]))
    else:
        inboxes.append(dict(gateway.inbox.messages))
    for inbox in inboxes:
        for recipient, texts in inbox.items():
            if recipient in recipients:
                per_resident[recipients[recipient]] += len(texts)
            else:
                strangers += len(texts)
    residents = len(set(recipients.values()))
    twice = sorted(r for r, n in per_resident.items() if n > 1)
    return {
        "residents": residents,
        "reached": len(per_resident),
        "lost": residents - len(per_resident),
        "duplicated": sum(1 for n in per_resident.values() if n > 1),
        "extra_messages": sum(n - 1 for n in per_resident.values() if n > 1) + strangers,
        "duplicated_ids": " ".join(map(str, twice[:10])),  # resident ids, for the logs
    }


#: How long to wait, after the last message went out, for the receipts of every message.
RECEIPT_WAIT = 300.0
#: How long to wait, after the residents' push, for every robot and customer-group row
#: (a task whose creation had an unknown outcome is looked up after the task lease).
GROUP_WAIT = 120.0


async def _receipts_settled(
    db: Database, item_id: int, limit: float, last_accepted: float | None
) -> float | None:
    """Seconds from the last message a provider accepted (``last_accepted``, the
    emulators' inbox clock) to the last receipt applied (the rows' ``done_at``);
    None while a delivery still waits for its receipt after ``limit``: a receipt
    lost on the way would leave its row ``sent``."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if not (await status_counts(db, item_id)).get("sent"):
            last_done = await _last_done(db, item_id)
            if last_accepted is None or last_done is None:
                return 0.0
            return round(max(0.0, last_done - last_accepted), 2)
        await asyncio.sleep(0.2)
    return None


async def _last_done(db: Database, item_id: int) -> float | None:
    """When the item's last resident delivery was settled (epoch seconds)."""
    conn = await asyncpg.connect(db.url)
    try:
        last = await conn.fetchval(
            "SELECT max(d.done_at) FROM delivery d JOIN push p ON p.id = d.push_id"
            " WHERE p.item_id = $1 AND d.group_chat_id IS NULL",
            item_id,
        )
    finally:
        await conn.close()
    if last is None:
        return None
    return float(last.replace(tzinfo=last.tzinfo or UTC).timestamp())


async def _emulator_json(port: int, path: str) -> dict[str, Any]:
    """``GET path`` of an emulator's test hooks (never faulted)."""
    timeout = aiohttp.ClientTimeout(total=10)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        http.get(f"http://127.0.0.1:{port}{path}") as resp,
    ):
        got: dict[str, Any] = await resp.json()
        return got


async def _acceptances(cluster: Cluster, gateway: CmppGateway | None) -> tuple[float | None, int]:
    """The last message any provider accepted (epoch seconds, by the inboxes) and how
    many answers the emulators lost on purpose (accept-then-drop)."""
    ports = [cluster.ports["wechat"]] + ([cluster.ports["sms"]] if gateway is None else [])
    lasts: list[float] = []
    dropped = 0
    for port in ports:
        summary = await _emulator_json(port, "/emulator/inbox?summary=1")
        if summary.get("last_at") is not None:
            lasts.append(float(summary["last_at"]))
        dropped += int((await _emulator_json(port, "/emulator/faults"))["accept_dropped"])
    if gateway is not None:
        if gateway.inbox.last_at is not None:
            lasts.append(gateway.inbox.last_at)
        dropped += gateway.stats.accept_dropped
    return (max(lasts) if lasts else None), dropped


async def failed_rows(db: Database, item_id: int) -> str:
    """The failed deliveries of the item's push: id, channel, attempts, error (for the log)."""
    conn = await asyncpg.connect(db.url)
    try:
        rows = await conn.fetch(
            "SELECT d.id, d.channel, d.attempts, d.error_code, d.error_message FROM delivery d"
            " JOIN push p ON p.id = d.push_id WHERE p.item_id = $1 AND d.status = 'failed'"
            " ORDER BY d.id LIMIT 20",
            item_id,
        )
    finally:
        await conn.close()
    return "; ".join(
        f"#{r['id']} {r['channel']} after {r['attempts']} tries: "
        f"{r['error_code']} {r['error_message']}"
        for r in rows
    )


async def _measure(
    residents: int, limit: float, *, lease: str = LEASE, sms: str = "aliyun"
) -> dict[str, Any]:
    if _port_in_use(REDIS_PORT):
        raise RuntimeError(f"port {REDIS_PORT} is taken: set PUSHER_CHAOS_REDIS_PORT")
    tmp = Path(tempfile.mkdtemp(prefix="pusher-chaos-"))  # the processes' logs stay here
    gateway = _gateway() if sms == "cmpp" else None
    cmpp_port = (await gateway.start())[1] if gateway is not None else None
    try:
        async with Database.create() as db:
            item_id, recipients, wechat_count, registered = await seed(db, residents)
            chunk = max(250, residents // 20)
            cluster = _cluster(
                db.sqlalchemy_url, tmp, wechat_count, chunk=chunk, lease=lease, cmpp_port=cmpp_port
            )
            cluster.start()
            try:
                await _wait_for_ports(cluster)
                owners = Owners(cluster.ports["wecom"])
                seconds, finished = await _run_push(
                    db, cluster, item_id, limit, gateway, residents=residents, owners=owners
                )
                figures = await _count(cluster, recipients, gateway)
                groups_settled = await settle_groups(
                    db.url, item_id, owners, cluster.ports["redis"], limit=GROUP_WAIT
                )
                groups = await group_figures(db.url, item_id, cluster.ports["wecom"], registered)
                last_accepted, accept_dropped = await _acceptances(cluster, gateway)
                settled = await _receipts_settled(
                    db, item_id, limit=RECEIPT_WAIT, last_accepted=last_accepted
                )
                statuses = await status_counts(db, item_id)
                failed = await failed_rows(db, item_id)
            finally:
                cluster.stop()
    finally:
        if gateway is not None:
            await gateway.close()
    cmpp = {"cmpp": _gateway_figures(gateway)} if gateway is not None else {}
    group_statuses = json.dumps(groups.pop("statuses"))
    return (
        figures
        | cmpp
        | {
            "groups": groups | {"settled_s": groups_settled},
            "group_statuses": group_statuses,
            "sms": sms,
            "seconds": round(seconds, 1),
            "finished": finished,
            "receipts_settled_s": settled,
            "accept_dropped": accept_dropped,
            "worker_restarts_unplanned": cluster.unplanned_restarts,
            "statuses": json.dumps({k: v for k, v in statuses.items() if k != "push"}),
            "failed_rows": failed,
            "events": "; ".join(cluster.events),
            "logs": str(tmp),
        }
    )


def _gateway_figures(gateway: CmppGateway) -> str:
    """What the gateway saw: logins, SUBMITs, links dropped, reports, DELIVERs sent again."""
    st = gateway.stats
    return (
        f"logins {st.logins}, submits {st.submits}, dropped {st.dropped}, "
        f"reports {st.reports_sent}, resent {st.delivers_resent}, over window {st.over_window}"
    )


def _require_exactly_once(row: dict[str, Any]) -> None:
    """A smoke run is a check: everyone reached once and every receipt applied."""
    broken = {k: row[k] for k in ("lost", "duplicated", "extra_messages") if row[k]}
    if row["receipts_settled_s"] is None:
        broken["receipts_settled_s"] = None
    if not row["accept_dropped"]:  # the run must have met a provider that lost its answer
        broken["accept_dropped"] = 0
    if groups := group_breaks(row["groups"]):  # every group once, every row final
        broken["groups"] = groups
    if broken:
        raise SystemExit(f"chaos smoke run broke its promise: {broken}\n{json.dumps(row)}")


def run(*, quick: bool, smoke: bool = False, sms: str = "aliyun") -> list[dict[str, Any]]:
    """One row: reached / lost / duplicated residents and the time the push took.

    ``smoke``: 400 residents and a 5 s lease, every process and break once in about a
    minute (the push may end before a break is due; ``events`` says what happened).
    ``sms``: the SMS provider, one of :data:`SMS_PROVIDERS`."""
    if sms not in SMS_PROVIDERS:
        raise SystemExit(f"chaos: --sms must be one of {', '.join(SMS_PROVIDERS)}")
    if smoke:
        row = asyncio.run(_measure(400, 180.0, lease="5", sms=sms))
        _require_exactly_once(row)
        return [row]
    residents, limit = (5_000, 300.0) if quick else (100_000, 1200.0)
    return [asyncio.run(_measure(residents, limit, sms=sms))]


if __name__ == "__main__":
    chosen = sys.argv[sys.argv.index("--sms") + 1] if "--sms" in sys.argv else "aliyun"
    for row in run(quick="--quick" in sys.argv, smoke="--smoke" in sys.argv, sms=chosen):
        print(json.dumps(row, ensure_ascii=False))
