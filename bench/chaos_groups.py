"""The chaos bench's group chats: WeCom robots, customer groups with owners, relay groups.

The town registers :data:`ROBOTS` robot chats, :data:`OWNERS` owners with
:data:`GROUPS_PER_OWNER` customer groups each and :data:`RELAYS` relay groups (their
keeper is one staff account). One WeCom emulator process serves both the robots and the
customer-group API (its account file: :func:`write_account`), under the bench's faults.
The bench plays the owners: it confirms every task it sees on the emulator
(``POST /emulator/groupmsg/confirm``) and runs the group job often
(:func:`poke_group_job`) so results are read back within the smoke's minutes.

:func:`group_figures` counts at the emulator: every group reached (none lost), one task
per owner and no customer group given the mass message twice, every group row final in
the record. A robot may get a message twice after a call that timed out (robots neither
de-duplicate nor answer queries, see :mod:`channels.wecom`): ``robot_repeats`` reports
it, and the smoke run does not fail on it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg  # type: ignore[import-untyped]
from redis.exceptions import RedisError

ROBOTS, OWNERS, GROUPS_PER_OWNER, RELAYS = 4, 3, 2, 2
CORP_ID, CORP_SECRET = "wwchaoscorp0001", "chaos-wecom-app-secret"
#: what the bench meets while Redis or an emulator is being restarted: tried next round
DOWN = (OSError, aiohttp.ClientError, TimeoutError, RedisError)
#: group rows that are still moving (a customer group's: no task yet, or not confirmed)
OPEN = ("queued", "sending", "waiting")


def robot_key(n: int) -> str:
    """The webhook key of robot ``n`` (UUID-shaped, as WeCom issues them)."""
    return f"00000000-0000-4000-8000-{n:012d}"


def owner(n: int) -> str:
    return f"chaos-owner-{n}"


def chat_id(o: int, g: int) -> str:
    return f"wrOgQhDgAAchaos{o:02d}{g:02d}"


def write_account(path: Path) -> Path:
    """The WeCom emulator's account: the robots' keys, the app, the owners' groups."""
    account = {
        "keys": [robot_key(n) for n in range(ROBOTS)],
        "corp_id": CORP_ID,
        "corp_secret": CORP_SECRET,
        "groups": {
            owner(o): [chat_id(o, g) for g in range(GROUPS_PER_OWNER)] for o in range(OWNERS)
        },
    }
    path.write_text(json.dumps(account), encoding="utf-8")
    return path


def group_env(wecom_port: int) -> dict[str, str]:
    """Robots and the customer-group app at the WeCom emulator, with short timeouts."""
    base = f"http://127.0.0.1:{wecom_port}/"
    return {
        "PUSHER_WECOM_ENABLED": "true",
        "PUSHER_WECOM__BASE_URL": base,
        "PUSHER_WECOM__TIMEOUT_SECONDS": "1.5",
        "PUSHER_WECOM_APP__CORP_ID": CORP_ID,
        "PUSHER_WECOM_APP__CORP_SECRET": CORP_SECRET,
        "PUSHER_WECOM_APP__BASE_URL": base,
        "PUSHER_WECOM_APP__TIMEOUT_SECONDS": "1.5",
    }


async def seed_groups(conn: asyncpg.Connection, region_id: int) -> dict[str, int]:
    """Register the town's group chats (and the relay groups' keeper); how many per kind."""
    keeper = await conn.fetchval(
        "INSERT INTO user_account (username, display_name, password_hash, role, active,"
        " duty_officer, session_version, created_at) VALUES ('chaos-keeper', '网格员', '',"
        " 'operator', true, false, 0, now()) RETURNING id"
    )
    rows: list[tuple[Any, ...]] = []
    for n in range(ROBOTS):
        rows.append((f"机器人群{n}", region_id, robot_key(n), "robot", None, None, None))
    for o in range(OWNERS):
        for g in range(GROUPS_PER_OWNER):
            name = f"客户群{o}-{g}"
            rows.append((name, region_id, "", "customer_group", None, owner(o), chat_id(o, g)))
    for n in range(RELAYS):
        rows.append((f"转发群{n}", region_id, "", "relay", keeper, None, None))
    await conn.executemany(
        "INSERT INTO group_chat (name, region_id, robot_key, active, kind, keeper_user_id,"
        " owner_userid, wecom_chat_id) VALUES ($1, $2, $3, true, $4, $5, $6, $7)",
        rows,
    )
    return {"robot": ROBOTS, "customer_group": OWNERS * GROUPS_PER_OWNER, "relay": RELAYS}


async def _hook(port: int, path: str, body: dict[str, Any] | None = None) -> Any:
    """An emulator test hook (never faulted): GET, or POST ``body``."""
    timeout = aiohttp.ClientTimeout(total=10)
    url = f"http://127.0.0.1:{port}{path}"
    async with aiohttp.ClientSession(timeout=timeout) as http:
        if body is None:
            async with http.get(url) as resp:
                return await resp.json()
        async with http.post(url, json=body) as resp:
            return await resp.json()


class Owners:
    """The owners, who confirm each task ``delay`` seconds after the bench first sees it."""

    def __init__(self, port: int, delay: float = 20.0) -> None:
        self.port, self.delay = port, delay
        self.seen: dict[str, float] = {}

    async def confirm_due(self) -> None:
        tasks = await _hook(self.port, "/emulator/groupmsg/tasks")
        now = time.monotonic()
        for task in tasks:
            first = self.seen.setdefault(task["msgid"], now)
            if task["sent_at"] is None and now - first >= self.delay:
                body = {"msgid": task["msgid"], "sender": task["sender"]}
                await _hook(self.port, "/emulator/groupmsg/confirm", body)


async def poke_group_job(redis_port: int, n: int) -> None:
    """Run the customer-group job now (create, read results), as its cron would."""
    from arq.connections import RedisSettings, create_pool

    from pusher.runtime.queue import ArqQueue

    pool = await create_pool(RedisSettings(port=redis_port), retry=0)
    try:
        queue = ArqQueue(pool, queue_name="pusher:chaos")
        await queue.enqueue("group_tasks", job_id=f"group_tasks:chaos:{n}")
    finally:
        await pool.aclose()


async def group_rows(db_url: str, item_id: int) -> dict[tuple[str, str], int]:
    """The item's group rows by (channel, status)."""
    conn = await asyncpg.connect(db_url)
    try:
        rows = await conn.fetch(
            "SELECT d.channel, d.status, count(*) AS n FROM delivery d JOIN push p"
            " ON p.id = d.push_id WHERE p.item_id = $1 AND d.group_chat_id IS NOT NULL"
            " GROUP BY d.channel, d.status",
            item_id,
        )
    finally:
        await conn.close()
    return {(str(r["channel"]), str(r["status"])): int(r["n"]) for r in rows}


def groups_open(rows: dict[tuple[str, str], int]) -> bool:
    """Whether a robot or customer-group row is still moving (relay rows wait for people)."""
    return any(ch != "relay" and st in OPEN and n for (ch, st), n in rows.items())


async def settle_groups(
    db_url: str, item_id: int, owners: Owners, redis_port: int, limit: float
) -> float | None:
    """Until every robot and customer-group row is final (seconds taken; None: gave up)."""
    started = time.monotonic()
    n = 0
    while time.monotonic() - started < limit:
        if not groups_open(await group_rows(db_url, item_id)):
            return round(time.monotonic() - started, 1)
        n += 1
        try:
            await owners.confirm_due()
            if n % 6 == 1:
                await poke_group_job(redis_port, 10_000 + n)
        except DOWN:
            pass  # Redis or the emulator is being restarted: next round
        await asyncio.sleep(0.5)
    return None


async def _unfinished_reasons(db_url: str, item_id: int) -> int:
    """Customer-group rows failed without a reason (must be none)."""
    conn = await asyncpg.connect(db_url)
    try:
        n = await conn.fetchval(
            "SELECT count(*) FROM delivery d JOIN push p ON p.id = d.push_id"
            " WHERE p.item_id = $1 AND d.channel = 'wecom_group' AND d.status = 'failed'"
            " AND coalesce(d.error_message, '') = ''",
            item_id,
        )
    finally:
        await conn.close()
    return int(n)


async def group_figures(
    db_url: str, item_id: int, wecom_port: int, registered: dict[str, int]
) -> dict[str, Any]:
    """Per kind: rows planned, groups reached, lost, duplicated; the emulator's tasks."""
    rows = await group_rows(db_url, item_id)
    planned: Counter[str] = Counter()
    for (channel, _), n in rows.items():
        planned[channel] += n
    inbox: dict[str, list[str]] = await _hook(wecom_port, "/emulator/inbox")
    tasks: list[dict[str, Any]] = await _hook(wecom_port, "/emulator/groupmsg/tasks")
    robots = [robot_key(n) for n in range(ROBOTS)]
    chats = [chat_id(o, g) for o in range(OWNERS) for g in range(GROUPS_PER_OWNER)]
    per_owner = Counter(t["sender"] for t in tasks)
    per_chat_tasks = Counter(c for t in tasks for c in t["chat_ids"])
    robot_got = [len(inbox.get(k, [])) for k in robots]
    chat_got = [len(inbox.get(c, [])) for c in chats]
    chat_twice = sum(1 for n in chat_got if n > 1) + sum(
        1 for n in per_chat_tasks.values() if n > 1
    )
    still = sum(n for (ch, st), n in rows.items() if ch == "wecom_group" and st in OPEN)
    return {
        "registered": sum(registered.values()),
        "planned": dict(planned),
        "planned_ok": planned["wecom"] == registered["robot"]
        and planned["wecom_group"] == registered["customer_group"]
        and planned["relay"] == registered["relay"],
        "reached": sum(1 for n in robot_got + chat_got if n),
        "lost": sum(1 for n in robot_got + chat_got if not n),
        # customer groups: the mass message twice, or a group in two tasks
        "duplicated": chat_twice,
        # robots: neither de-duplicate nor answer queries, so a message whose call timed out
        # is sent again and may arrive twice (channels.wecom); reported, not a promise
        "robot_repeats": sum(1 for n in robot_got if n > 1),
        "tasks": len(tasks),
        "accept_dropped": int((await _hook(wecom_port, "/emulator/faults"))["accept_dropped"]),
        "owners_with_two_tasks": sum(1 for n in per_owner.values() if n > 1),
        "customer_rows_open": still,
        "customer_failed_no_reason": await _unfinished_reasons(db_url, item_id),
        "statuses": {f"{ch}:{st}": n for (ch, st), n in sorted(rows.items())},
    }


def group_breaks(groups: dict[str, Any]) -> dict[str, Any]:
    """What a smoke run must not see among the groups."""
    keys = ("lost", "duplicated", "owners_with_two_tasks", "customer_rows_open")
    broken = {k: groups[k] for k in (*keys, "customer_failed_no_reason") if groups[k]}
    if not groups["planned_ok"]:
        broken["planned"] = groups["planned"]
    if groups["tasks"] != OWNERS:
        broken["tasks"] = groups["tasks"]
    return broken
