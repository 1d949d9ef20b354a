"""The county of ``bench_county``: towns, villages, grids, residents, groups and rules.

Shaped like the demo town (``pusher/demo/town.py``), scaled: 20 towns of 10 villages of
5 grids, region groups for every town and village, topic groups for the followed topics
(30% of residents subscribe to each), tag groups with the demo's keyword rules (15% of
residents carry each tag), and one small town (小岭镇, 2 grids) for the latency runs.
Residents: 60% follow the account (and have a mobile number), 35% have SMS only, 5%
neither (unreachable). Everything is bulk-loaded with ``COPY`` in one transaction.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from pusher.cli.bench import RESIDENT_COLUMNS

COUNTY = ("360123", "示范县")
SMALL_TOWN = ("360123199", "小岭镇")
_TOWN_NAMES = "青山绿水红岭白沙金溪银湖石门桃源梅岭竹林松坪柳塘杏花龙潭凤鸣马鞍牛头虎跳云台霞光"
TOWNS = tuple(f"{_TOWN_NAMES[i : i + 2]}镇" for i in range(0, len(_TOWN_NAMES), 2))
VILLAGES_PER_TOWN, GRIDS_PER_VILLAGE = 10, 5
#: Residents of the small town, out of the county's total.
SMALL_TOWN_RESIDENTS = 40
TOPICS_FOLLOWED = ("养老服务", "社会救助", "涉农补贴", "就业", "卫生健康", "社会保险", "救灾")
TAG_RULES = {
    "老年人": "养老 | 高龄津贴 | 高龄补贴 | 老年人 | 80周岁 & !招聘",
    "低保户": "低保 | 最低生活保障 | 临时救助 | 特困供养",
}
TAGS = ("老年人", "低保户", "脱贫户", "残疾人", "退役军人")
NOW = datetime(2026, 1, 1, tzinfo=UTC)
ROLES = ("publisher", "leader")


@dataclass
class County:
    """What was built: region codes, API tokens and who can be reached at which address."""

    county_code: str
    small_town_code: str
    tokens: dict[str, str]
    #: recipient address (openid or phone) → resident id, reachable residents only
    recipients: dict[str, int] = field(default_factory=dict)
    small_town: set[int] = field(default_factory=set)
    residents: int = 0
    wechat: int = 0
    sms: int = 0


def _channel(n: int) -> str:
    """Resident ``n``'s reach: 12 in 20 WeChat, 7 in 20 SMS only, 1 in 20 none."""
    slot = n % 20
    return "wechat" if slot < 12 else "sms" if slot < 19 else "none"


def _resident(n: int, region_id: int) -> tuple[Any, ...]:
    reach = _channel(n)
    phone = f"13{n:09d}" if reach != "none" else None
    openid = f"o{n:027d}" if reach == "wechat" else None
    wechat = reach == "wechat"
    return (f"居民{n}", region_id, phone, openid, wechat, reach != "none", False, False, NOW)


async def _regions(conn: Any, rows: Sequence[tuple[str, str, str, int | None, str]]) -> list[int]:
    got = await conn.fetch(
        "INSERT INTO region (code, name, kind, parent_id, path) SELECT * FROM"
        " unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[]) RETURNING id",
        *(list(column) for column in zip(*rows, strict=True)),
    )
    return [int(r["id"]) for r in got]


async def _layout(conn: Any) -> tuple[list[int], list[int], list[tuple[str, int]]]:
    """Regions; returns the grids of the county, those of the small town, and the
    (name, region id) of every town and village for their region groups."""
    code, name = COUNTY
    [county] = await _regions(conn, [(code, name, "county", None, f"/{code}/")])
    towns = [(f"{code}{t:03d}", n) for t, n in enumerate(TOWNS, start=101)] + [SMALL_TOWN]
    town_ids = await _regions(conn, [(c, n, "town", county, f"/{code}/{c}/") for c, n in towns])
    villages = []
    for (tcode, tname), tid in zip(towns, town_ids, strict=True):
        count = 1 if tcode == SMALL_TOWN[0] else VILLAGES_PER_TOWN
        for v in range(1, count + 1):
            villages.append((f"{tcode}{v:03d}", f"{tname}{v}村", tid, f"/{code}/{tcode}/"))
    rows = [(c, n, "village", t, f"{p}{c}/") for c, n, t, p in villages]
    village_ids = await _regions(conn, rows)
    grid_rows, small = [], []
    for (vcode, vname, _, path), vid in zip(villages, village_ids, strict=True):
        count = 2 if vcode.startswith(SMALL_TOWN[0]) else GRIDS_PER_VILLAGE
        for g in range(1, count + 1):
            gcode = f"{vcode}{g:02d}"
            grid_rows.append((gcode, f"{vname}第{g}网格", "grid", vid, f"{path}{vcode}/{gcode}/"))
            small.append(vcode.startswith(SMALL_TOWN[0]))
    grid_ids = await _regions(conn, grid_rows)
    county_grids = [g for g, s in zip(grid_ids, small, strict=True) if not s]
    small_grids = [g for g, s in zip(grid_ids, small, strict=True) if s]
    groups = [(n, i) for (_, n), i in zip(towns, town_ids, strict=True)]
    groups += [(v[1], i) for v, i in zip(villages, village_ids, strict=True)]
    return county_grids, small_grids, groups


async def _groups(conn: Any, regions: list[tuple[str, int]]) -> dict[str, int]:
    """Region, topic and tag groups and the tag rules; returns the topic ids by name."""
    await conn.executemany(
        "INSERT INTO push_group (name, kind, region_id) VALUES ($1, 'region', $2)",
        [(f"{name}全体", rid) for name, rid in regions],
    )
    topics = {
        str(r["name"]): int(r["id"])
        for r in await conn.fetch(
            "SELECT id, name FROM topic WHERE name = ANY($1::text[])", list(TOPICS_FOLLOWED)
        )
    }
    for name, tid in topics.items():
        await conn.execute(
            "INSERT INTO push_group (name, kind, topic_id) VALUES ($1, 'topic', $2)",
            f"订阅：{name}",
            tid,
        )
    for tag, expression in TAG_RULES.items():
        gid = await conn.fetchval(
            "INSERT INTO push_group (name, kind, tag) VALUES ($1, 'tag', $2) RETURNING id",
            f"标签：{tag}",
            tag,
        )
        await conn.execute(
            "INSERT INTO rule (group_id, expression, enabled, updated_at) VALUES ($1, $2, true,"
            " now())",
            gid,
            expression,
        )
    return topics


async def _users(conn: Any) -> dict[str, str]:
    """A publisher and a leader (the urgent one-step approval) with API tokens."""
    tokens = {role: f"county-{role}-{secrets.token_urlsafe(16)}" for role in ROLES}
    for role, token in tokens.items():
        await conn.execute(
            "INSERT INTO user_account (username, display_name, password_hash, role, active,"
            " api_token_hash, created_at) VALUES ($1, $1, '', $1, true, $2, now())",
            role,
            hashlib.sha256(token.encode()).hexdigest(),
        )
    return tokens


def _grid(n: int, county_grids: list[int], small_grids: list[int]) -> int:
    if n < SMALL_TOWN_RESIDENTS:
        return small_grids[n % len(small_grids)]
    return county_grids[n % len(county_grids)]


def _extras(ids: list[int], topics: dict[str, int]) -> tuple[list[Any], list[Any]]:
    rng = random.Random(7)
    tags = [(rid, tag) for rid in ids for tag in TAGS if rng.random() < 0.15]
    subs = [
        (rid, tid, rng.random() < 0.05)
        for rid in ids
        for tid in topics.values()
        if rng.random() < 0.3
    ]
    return tags, subs


async def build_county(url: str, residents: int) -> County:
    """Load the county with ``residents`` residents (the small town's among them)."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            county_grids, small_grids, regions = await _layout(conn)
            topics = await _groups(conn, regions)
            tokens = await _users(conn)
            rows = [_resident(n, _grid(n, county_grids, small_grids)) for n in range(residents)]
            await conn.copy_records_to_table("resident", records=rows, columns=RESIDENT_COLUMNS)
            ids = [int(r["id"]) for r in await conn.fetch("SELECT id FROM resident ORDER BY id")]
            tags, subs = _extras(ids, topics)
            await conn.copy_records_to_table(
                "resident_tag", records=tags, columns=("resident_id", "tag")
            )
            await conn.copy_records_to_table(
                "subscription", records=subs, columns=("resident_id", "topic_id", "opted_out")
            )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    county = County(COUNTY[0], SMALL_TOWN[0], tokens, residents=residents)
    for n, (row, rid) in enumerate(zip(rows, ids, strict=True)):
        address = row[3] or (row[2] if row[5] else None)
        if address is None:
            continue
        county.recipients[address] = rid
        if row[3]:
            county.recipients[row[2]] = rid  # a WeChat resident's SMS (a fallback) counts too
        county.wechat += row[3] is not None
        county.sms += row[3] is None
        if n < SMALL_TOWN_RESIDENTS:
            county.small_town.add(rid)
    return county
