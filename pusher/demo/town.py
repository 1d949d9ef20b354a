"""A synthetic demo town: regions, residents, groups, rules and group chats.

Names and numbers are generated from a fixed seed (numbers in the 1380000xxxx
block are not real subscribers' numbers), so every run builds the same town.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from sqlalchemy import select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.models import GroupKind, Region, Subscription, Topic
from pusher.rosters.upload import upsert
from pusher.town.chats import ChatIn, create_chat
from pusher.town.groups import GroupIn, create_group
from pusher.town.regions import RegionIn, create_region

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


async def build_town(session: AsyncSession, *, residents: int = 2000, seed: int = 7) -> Town:
    """Create the town with ``residents`` residents in 5 villages and 20 grids, through the
    same service functions the setup page, the console and the API use."""
    rng = random.Random(seed)
    await create_region(session, RegionIn("示范县", "360123"))
    town_region = await create_region(session, RegionIn("青山镇", "360123101", "360123"))
    town = Town(town_code=town_region.code)
    grids: list[Region] = []
    for v, village_name in enumerate(VILLAGES, start=1):
        code = f"{town_region.code}{v:03d}"
        village = await create_region(session, RegionIn(village_name, code, town_region.code))
        town.village_codes.append(village.code)
        for g in range(1, 5):
            name = f"{village_name}第{g}网格"
            grid = await create_region(session, RegionIn(name, f"{code}{g:02d}", code))
            grids.append(grid)
            town.grid_codes.append(grid.code)
        await create_chat(session, ChatIn(f"{village_name}村民群", code, f"demo-robot-{code}"))
        await create_group(session, GroupIn(village_name, GroupKind.REGION, region_code=code))
    await create_group(session, GroupIn("青山镇全体", GroupKind.REGION, region_code=town.town_code))
    await _residents(session, rng, grids, residents)
    town.residents = residents
    await _topic_and_tag_groups(session)
    return town


def roster_cells(rng: random.Random, grids: list[Region], count: int) -> list[dict[str, str]]:
    """The town's residents as a grid office's roster: its headers, one row each."""
    cells = []
    for n in range(1, count + 1):
        follows = rng.random() < 0.6
        phone = f"138{n:08d}" if rng.random() < 0.95 else ""  # 11 digits up to 10^8 residents
        consent = rng.random() < 0.9
        name = _name(rng)
        tags = [tag for tag in TAGS if rng.random() < 0.15]
        topics = [t for t in TOPICS_FOLLOWED if rng.random() < 0.3]
        cells.append(
            {
                "姓名": name,
                "手机号码": phone,
                "所属网格": grids[(n - 1) % len(grids)].code,
                "居民编号": f"D{n:05d}",
                "标签": "、".join(tags),
                "订阅": "、".join(topics),
                "同意短信": "是" if consent else "否",
                "微信": f"oDemo{n:023d}" if follows else "",
            }
        )
    return cells


async def _residents(
    session: AsyncSession, rng: random.Random, grids: list[Region], count: int
) -> None:
    """Import the roster the way the console and the API do (check, then apply), then
    let about one subscriber in twenty opt out of a topic, as residents do themselves
    (by SMS reply or on their WeChat page; a roster never opts anyone out)."""
    cells = roster_cells(rng, grids, count)
    report = await upsert(
        session, cells, scope=None, default_consent=False, actor="demo", apply=True
    )
    errors = [r for r in report.rows if r.action == "error"]
    if errors or report.applied != count:
        raise RuntimeError(f"the demo roster did not import: {errors[:3]}")
    subs = (
        await session.execute(
            select(Subscription.resident_id, Subscription.topic_id).order_by(
                Subscription.resident_id, Subscription.topic_id
            )
        )
    ).all()
    out = [(rid, tid) for rid, tid in subs if rng.random() < 0.05]
    for start in range(0, len(out), 500):
        await session.execute(
            update(Subscription)
            .where(
                tuple_(Subscription.resident_id, Subscription.topic_id).in_(
                    out[start : start + 500]
                )
            )
            .values(opted_out=True)
        )


async def _topic_and_tag_groups(session: AsyncSession) -> None:
    for tid, name in await session.execute(
        select(Topic.id, Topic.name).where(Topic.name.in_(TOPICS_FOLLOWED)).order_by(Topic.id)
    ):
        await create_group(session, GroupIn(f"订阅：{name}", GroupKind.TOPIC, topic_id=tid))
    for tag, expression in TAG_RULES.items():
        await create_group(
            session, GroupIn(f"标签：{tag}", GroupKind.TAG, tag=tag, rules=(expression,))
        )
