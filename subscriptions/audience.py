"""The audience of a push as SQL: residents of matched groups, within the item's region.

A resident is in the audience when they live inside the item's region and
belong to at least one matched group (region subtree, topic subscriber, tag,
hand-kept list). Residents who opted out of one of the item's topics are left
out unless the item is urgent. Everything is one ``SELECT`` per chunk of
resident ids, so planning never loads residents into Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    false,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.models import (
    GROUP_CHANNELS,
    DeliveryStatus,
    Group,
    GroupChat,
    GroupChatKind,
    GroupKind,
    GroupMember,
    Item,
    Region,
    Resident,
    ResidentTag,
    Subscription,
    Topic,
    Urgency,
)
from subscriptions.channel import channel_columns


@dataclass(frozen=True)
class Audience:
    """The matched groups of one item, reduced to what the audience query needs."""

    within_path: str
    urgent: bool
    region_paths: list[str] = field(default_factory=list)
    topic_ids: list[int] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    list_group_ids: list[int] = field(default_factory=list)
    item_topic_ids: list[int] = field(default_factory=list)
    #: subscription notices: WeChat only with the follower's consent on record
    wechat_consent: bool = False

    @property
    def empty(self) -> bool:
        return not (self.region_paths or self.topic_ids or self.tags or self.list_group_ids)


async def load_audience(
    session: AsyncSession, item: Item, group_ids: list[int], *, wechat_consent: bool = False
) -> Audience:
    """Read the matched groups of ``item`` into an :class:`Audience`."""
    region = await session.get_one(Region, item.region_id)
    rows = (
        await session.execute(
            select(Group.kind, Group.id, Group.topic_id, Group.tag, Region.path)
            .outerjoin(Region, Region.id == Group.region_id)
            .where(Group.id.in_(group_ids))
        )
    ).all()
    item_topics = await session.scalars(
        select(Topic.id).where(Topic.name.in_(item.domains or [])),
    )
    return Audience(
        within_path=region.path,
        urgent=item.urgency == Urgency.URGENT,
        region_paths=[p for kind, _, _, _, p in rows if kind == GroupKind.REGION and p],
        topic_ids=[t for kind, _, t, _, _ in rows if kind == GroupKind.TOPIC and t is not None],
        tags=[tag for kind, _, _, tag, _ in rows if kind == GroupKind.TAG and tag],
        list_group_ids=[g for kind, g, _, _, _ in rows if kind == GroupKind.LIST],
        item_topic_ids=list(item_topics.all()),
        wechat_consent=wechat_consent,
    )


def _membership(audience: Audience) -> ColumnElement[bool]:
    """True for residents in at least one matched group."""
    clauses: list[ColumnElement[bool]] = [
        Region.path.startswith(path) for path in audience.region_paths
    ]
    if audience.topic_ids:
        clauses.append(
            exists().where(
                Subscription.resident_id == Resident.id,
                Subscription.topic_id.in_(audience.topic_ids),
                Subscription.opted_out.is_(False),
            )
        )
    if audience.tags:
        clauses.append(
            exists().where(
                ResidentTag.resident_id == Resident.id,
                ResidentTag.tag.in_(audience.tags),
            )
        )
    if audience.list_group_ids:
        clauses.append(
            exists().where(
                GroupMember.resident_id == Resident.id,
                GroupMember.group_id.in_(audience.list_group_ids),
            )
        )
    return or_(false(), *clauses)


def _not_opted_out(audience: Audience) -> ColumnElement[bool]:
    if audience.urgent or not audience.item_topic_ids:
        return true()
    return ~exists().where(
        Subscription.resident_id == Resident.id,
        Subscription.topic_id.in_(audience.item_topic_ids),
        Subscription.opted_out.is_(True),
    )


def residents_chunk(
    audience: Audience, *, after_id: int, upto_id: int
) -> Select[tuple[object, ...]]:
    """Residents with ``after_id < id <= upto_id`` in the audience, with channel columns."""
    channel, recipient, status = channel_columns(consent=audience.wechat_consent)
    return (
        select(Resident.id, Resident.region_id, channel, recipient, status)
        .join(Region, Region.id == Resident.region_id)
        .where(
            and_(
                Resident.id > after_id,  # type: ignore[operator]
                Resident.id <= upto_id,  # type: ignore[operator]
                Region.path.startswith(audience.within_path),
                Resident.moved_out_at.is_(None),  # 迁出: kept for history, never pushed to
                Region.active.is_(True),  # a retired (deactivated) grid is never pushed to
                _membership(audience),
                _not_opted_out(audience),
            )
        )
    )


def group_chats(audience: Audience) -> Select[tuple[object, ...]]:
    """Active group chats of matched region groups that lie inside the item's region, in
    regions still in use, with the columns of their delivery row by kind: ``id``,
    ``region_id``, ``channel``, ``recipient``, ``status``, ``provider``.

    A robot's row is queued for its webhook key; a customer group's is queued for its
    WeCom chat id (the mass-message job takes it); a relayed group's waits for its keeper.
    """
    inside = [Region.path.startswith(path) for path in audience.region_paths]
    kind = GroupChat.kind
    customer, relay = GroupChatKind.CUSTOMER_GROUP.value, GroupChatKind.RELAY.value
    channel = case(
        (kind == customer, GROUP_CHANNELS[GroupChatKind.CUSTOMER_GROUP]),
        (kind == relay, GROUP_CHANNELS[GroupChatKind.RELAY]),
        else_=GROUP_CHANNELS[GroupChatKind.ROBOT],
    )
    recipient = case(
        (kind == customer, GroupChat.wecom_chat_id),
        (kind == relay, cast(GroupChat.keeper_user_id, String)),
        else_=GroupChat.robot_key,
    )
    waiting, queued = DeliveryStatus.WAITING.value, DeliveryStatus.QUEUED.value
    status = case((kind == relay, waiting), else_=queued)
    provider = case((kind == customer, "wecom"), else_=null())
    return (
        select(
            GroupChat.id,
            GroupChat.region_id,
            channel.label("channel"),
            recipient.label("recipient"),
            status.label("status"),
            provider.label("provider"),
        )
        .join(Region, Region.id == GroupChat.region_id)
        .where(
            Region.path.startswith(audience.within_path),
            Region.active.is_(True),  # a retired village's or grid's chats are not pushed to
            GroupChat.active.is_(True),
            or_(false(), *inside),
        )
    )
