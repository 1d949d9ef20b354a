"""Whom a demo item must reach, worked out from how the demo town was built.

Each sample says whom it is meant for (:class:`pusher.demo.items.Audience`: every
resident of its region, residents with a tag, subscribers of a topic). Here that
is turned into residents with plain queries over the town's own rows (regions,
residents, tags, subscriptions, group chats), never through the pipeline's
rules, matching or planning, so ``pusher demo --check`` fails when the pipeline
reaches fewer, more or other people than the office meant.

Each meant resident gets the address a message must go to: the WeChat openid
when they follow the official account and did not refuse it, else the mobile
number when they consented to SMS and did not opt out, else none (the delivery
is recorded as unreachable for the grid worker).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.demo.items import Sample
from pusher.demo.town import Town
from pusher.models import GroupChat, Region, Resident, ResidentTag, Subscription, Topic, Urgency


@dataclass(frozen=True)
class Expected:
    """What the demo must have recorded for one sample."""

    #: meant resident id → the address their one message goes to (None: no channel)
    residents: dict[int, str | None] = field(default_factory=dict)
    #: robot keys of the group chats meant to get it
    chats: frozenset[str] = frozenset()

    @property
    def addresses(self) -> list[str]:
        """Every address one message must reach: residents' and group chats'."""
        return [a for a in self.residents.values() if a is not None] + sorted(self.chats)


def region_code(town: Town, sample: Sample) -> str:
    """The code of the region the sample concerns."""
    return town.town_code if sample.region == "town" else town.village_codes[int(sample.region)]


async def expected_for(session: AsyncSession, town: Town, sample: Sample) -> Expected:
    """The residents (with addresses) and group chats ``sample`` must reach."""
    if not sample.pushed:
        return Expected()
    path = await session.scalar(select(Region.path).where(Region.code == region_code(town, sample)))
    assert path is not None, "the demo town has every sample's region"
    inside = await _residents_inside(session, path)
    meant = await _meant(session, sample, set(inside))
    return Expected(
        residents={rid: inside[rid] for rid in meant},
        chats=await _chats(session, path) if sample.audience.chats else frozenset(),
    )


async def _residents_inside(session: AsyncSession, path: str) -> dict[int, str | None]:
    rows = await session.execute(
        select(Resident)
        .join(Region, Region.id == Resident.region_id)
        .where(Region.path.startswith(path))
    )
    return {r.id: _address(r) for r in rows.scalars() if r.id is not None}


def _address(r: Resident) -> str | None:
    if r.openid and r.wechat_follows and not r.wechat_opt_out:
        return r.openid
    if r.phone and r.sms_consent and not r.sms_opt_out:
        return r.phone
    return None


async def _meant(session: AsyncSession, sample: Sample, inside: set[int]) -> set[int]:
    audience = sample.audience
    tagged = await session.scalars(
        select(ResidentTag.resident_id).where(ResidentTag.tag.in_(audience.tags))
    )
    subs = (
        await session.execute(
            select(Subscription.resident_id, Subscription.opted_out)
            .join(Topic, Topic.id == Subscription.topic_id)
            .where(Topic.name.in_(audience.topics))
        )
    ).all()
    meant = set(inside) if audience.everyone else set()
    meant |= set(tagged) | {rid for rid, out in subs if not out}
    if sample.urgency != Urgency.URGENT:  # a warning reaches even those who unsubscribed
        meant -= {rid for rid, out in subs if out}
    return meant & inside


async def _chats(session: AsyncSession, path: str) -> frozenset[str]:
    keys = await session.scalars(
        select(GroupChat.robot_key)
        .join(Region, Region.id == GroupChat.region_id)
        .where(Region.path.startswith(path))
    )
    return frozenset(keys)
