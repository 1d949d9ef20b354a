"""A synthetic demo town: regions, residents, groups, rules and group chats.

Names and numbers are generated from a fixed seed (numbers in the 1380000xxxx
block are not real subscribers' numbers), so every run builds the same town.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.models import (
    Group,
    GroupChat,
    GroupKind,
    Region,
    RegionKind,
    Resident,
    ResidentTag,
    Rule,
    Subscription,
    Topic,
)

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华兰霞平刚桂英建国志红玉梅海燕春花文斌建华"
    "秋菊德福永福春梅金凤冬梅秀兰"
)
VILLAGES = ("东山村", "西河村", "南岭村", "北坪村", "桃源社区")
TOPICS_FOLLOWED = ("养老服务", "社会救助", "涉农补贴", "就业", "卫生健康", "社会保险", "救灾")
TAGS = ("老年人", "低保户", "脱贫户", "残疾人", "退役军人")

TAG_RULES = {
    "老年人": "养老 | 高龄津贴 | 高龄补贴 | 老年人 | 80周岁 & !招聘",
    "低保户": "低保 | 最低生活保障 | 临时救助 | 特困供养",
}


@dataclass
class Town:
    """What was built, for the demo's own checks."""

    town_code: str
    village_codes: list[str] = field(default_factory=list)
    grid_codes: list[str] = field(default_factory=list)
    residents: int = 0


def _name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
    return rng.choice(SURNAMES) + given


async def _region(
    session: AsyncSession, code: str, name: str, kind: str, parent: Region | None
) -> Region:
    path = f"{parent.path if parent else '/'}{code}/"
    region = Region(
        code=code, name=name, kind=kind, parent_id=parent.id if parent else None, path=path
    )
    session.add(region)
    await session.flush()
    return region


async def build_town(session: AsyncSession, *, residents: int = 2000, seed: int = 7) -> Town:
    """Create the town with ``residents`` residents in 5 villages and 20 grids."""
    rng = random.Random(seed)
    county = await _region(session, "360123", "示范县", RegionKind.COUNTY, None)
    town_region = await _region(session, "360123101", "青山镇", RegionKind.TOWN, county)
    town = Town(town_code=town_region.code)
    grids: list[Region] = []
    for v, village_name in enumerate(VILLAGES, start=1):
        village = await _region(
            session, f"{town_region.code}{v:03d}", village_name, RegionKind.VILLAGE, town_region
        )
        town.village_codes.append(village.code)
        for g in range(1, 5):
            grid = await _region(
                session,
                f"{village.code}{g:02d}",
                f"{village_name}第{g}网格",
                RegionKind.GRID,
                village,
            )
            grids.append(grid)
            town.grid_codes.append(grid.code)
        session.add(
            GroupChat(
                name=f"{village_name}村民群",
                region_id=village.id,
                robot_key=f"demo-robot-{village.code}",
            )
        )
        session.add(Group(name=village_name, kind=GroupKind.REGION, region_id=village.id))
    session.add(Group(name="青山镇全体", kind=GroupKind.REGION, region_id=town_region.id))
    await _residents(session, rng, grids, residents)
    town.residents = residents
    await _topic_and_tag_groups(session)
    return town


async def _residents(
    session: AsyncSession, rng: random.Random, grids: list[Region], count: int
) -> None:
    topic_ids = {
        name: tid
        for tid, name in await session.execute(
            select(Topic.id, Topic.name).where(Topic.name.in_(TOPICS_FOLLOWED))
        )
    }
    rows, tags, subs = [], [], []
    for n in range(1, count + 1):
        follows = rng.random() < 0.6
        rows.append(
            {
                "name": _name(rng),
                "region_id": grids[(n - 1) % len(grids)].id,
                "phone": f"1380000{n:04d}" if rng.random() < 0.95 else None,
                "openid": f"oDemo{n:023d}" if follows else None,
                "wechat_follows": follows,
                "sms_consent": rng.random() < 0.9,
                "wechat_opt_out": False,
                "sms_opt_out": False,
            }
        )
        for tag in TAGS:
            if rng.random() < 0.15:
                tags.append({"resident_id": n, "tag": tag})
        for tid in topic_ids.values():
            if rng.random() < 0.3:
                subs.append({"resident_id": n, "topic_id": tid, "opted_out": rng.random() < 0.05})
    result = await session.execute(
        insert(Resident).returning(Resident.id, sort_by_parameter_order=True), rows
    )
    ids = {n: rid for n, rid in enumerate(result.scalars(), start=1)}
    for row in (*tags, *subs):
        row["resident_id"] = ids[row["resident_id"]]
    await session.execute(insert(ResidentTag), tags)
    await session.execute(insert(Subscription), subs)


async def _topic_and_tag_groups(session: AsyncSession) -> None:
    for tid, name in await session.execute(
        select(Topic.id, Topic.name).where(Topic.name.in_(TOPICS_FOLLOWED))
    ):
        session.add(Group(name=f"订阅：{name}", kind=GroupKind.TOPIC, topic_id=tid))
    for tag, expression in TAG_RULES.items():
        group = Group(name=f"标签：{tag}", kind=GroupKind.TAG, tag=tag)
        session.add(group)
        await session.flush()
        assert group.id is not None
        session.add(Rule(group_id=group.id, expression=expression))
