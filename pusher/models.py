"""The record of truth: tables of regions, residents, items, pushes and deliveries.

Enumerations are stored as their string values so SQLite and PostgreSQL hold
the same text and migrations stay plain.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, ColumnElement, Index, UniqueConstraint, select, text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Now, timezone-aware UTC (SQLModel stores aware datetimes, in UTC)."""
    return datetime.now(UTC)


def aware(at: datetime) -> datetime:
    """``at`` as an aware UTC time (SQLite hands back naive ones from core queries)."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


class RegionKind(StrEnum):
    COUNTY = "county"
    TOWN = "town"
    VILLAGE = "village"
    GRID = "grid"


class Disclosure(StrEnum):
    PROACTIVE = "主动公开"
    ON_REQUEST = "依申请公开"


class Urgency(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"


class ItemStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    CHECKED = "checked"  # staff check passed, waiting for the leader
    APPROVED = "approved"
    REJECTED = "rejected"
    PUSHED = "pushed"


class GroupKind(StrEnum):
    REGION = "region"
    TOPIC = "topic"
    TAG = "tag"
    LIST = "list"


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # claimed by a worker; outcome unknown until written
    SENT = "sent"  # accepted by the provider
    DELIVERED = "delivered"
    FAILED = "failed"
    UNREACHABLE = "unreachable"  # no channel the resident can be reached on
    CONFIRMED = "confirmed"  # a grid worker confirmed in person
    CANCELLED = "cancelled"  # still waiting when its push was stopped (error_code says why)
    #: a group delivery waiting for a person (the keeper to relay, the customer group's
    #: owner to confirm); dispatch never claims it
    WAITING = "waiting"


class GroupChatKind(StrEnum):
    """How a group chat is reached (stored in ``group_chat.kind``)."""

    ROBOT = "robot"  # WeCom robot webhook
    CUSTOMER_GROUP = "customer_group"  # WeCom 客户群: mass-message API, the owner confirms
    RELAY = "relay"  # ordinary WeChat group, relayed by a person: its keeper


#: ``delivery.channel`` of a group chat's row, by the chat's kind.
GROUP_CHANNELS = {
    GroupChatKind.ROBOT: "wecom",
    GroupChatKind.CUSTOMER_GROUP: "wecom_group",
    GroupChatKind.RELAY: "relay",
}
#: Group channels a person completes (the owner confirms, the keeper relays): dispatch
#: never claims their rows, and a push is done dispatching without them.
PERSON_CHANNELS = ("wecom_group", "relay")
#: ``delivery.channel`` of a relayed group's row: its keeper forwards the item by hand.
RELAY_CHANNEL = GROUP_CHANNELS[GroupChatKind.RELAY]


class Role(StrEnum):
    ADMIN = "admin"
    PUBLISHER = "publisher"
    REVIEWER = "reviewer"
    LEADER = "leader"
    GRID_WORKER = "grid_worker"


class Region(SQLModel, table=True):
    """County → town → village/community → grid; ``path`` holds the codes root→leaf."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=32)
    name: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    parent_id: int | None = Field(default=None, foreign_key="region.id", index=True)
    path: str = Field(max_length=400, index=True)  # "/3601/360123/360123101/"
    #: a region with residents or history is deactivated (with the reason), never deleted
    active: bool = True
    inactive_reason: str | None = Field(default=None, max_length=200)
    #: set on rename and move, so the rulebook sees the change (region names are words)
    updated_at: datetime | None = None


class Resident(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    region_id: int = Field(foreign_key="region.id", index=True)
    phone: str | None = Field(default=None, max_length=20, index=True)
    openid: str | None = Field(default=None, max_length=64, index=True)
    wechat_follows: bool = False
    sms_consent: bool = False
    wechat_opt_out: bool = False
    sms_opt_out: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    #: the office's own key for the person (身份证后四位, 户号, …): re-uploads match on it
    stable_key: str | None = Field(default=None, max_length=64, index=True)
    #: 迁出: confirmed moved out (or deactivated); kept for history, never pushed to
    moved_out_at: datetime | None = None


class ResidentTag(SQLModel, table=True):
    __tablename__ = "resident_tag"
    resident_id: int = Field(foreign_key="resident.id", primary_key=True)
    tag: str = Field(max_length=32, primary_key=True, index=True)


class Topic(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=64)
    builtin: bool = False
    active: bool = True
    #: the office's own topics: words that send an item to the topic's subscribers
    keywords: list[str] | None = Field(default=None, sa_column=Column(JSON))
    #: order shown to residents (then built-in first, then id)
    position: int = 0


class Subscription(SQLModel, table=True):
    """A resident follows a topic (``opted_out`` = unsubscribed from it)."""

    resident_id: int = Field(foreign_key="resident.id", primary_key=True)
    topic_id: int = Field(foreign_key="topic.id", primary_key=True, index=True)
    opted_out: bool = False


class Group(SQLModel, table=True):
    __tablename__ = "push_group"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=64)
    kind: str = Field(max_length=16)
    region_id: int | None = Field(default=None, foreign_key="region.id")
    topic_id: int | None = Field(default=None, foreign_key="topic.id")
    tag: str | None = Field(default=None, max_length=32)
    active: bool = True


class GroupMember(SQLModel, table=True):
    """Members of a hand-kept list group."""

    __tablename__ = "group_member"
    group_id: int = Field(foreign_key="push_group.id", primary_key=True)
    resident_id: int = Field(foreign_key="resident.id", primary_key=True)


class Rule(SQLModel, table=True):
    """A keyword rule in the compact text form, sending matching items to a group."""

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="push_group.id", index=True)
    expression: str = Field(max_length=2000)
    enabled: bool = True
    updated_at: datetime = Field(default_factory=utcnow)


class GroupChat(SQLModel, table=True):
    """A village or grid group chat: reached through its WeCom robot, as a WeCom customer
    group (客户群) by the mass-message API, or relayed by its keeper (:class:`GroupChatKind`).

    ``robot_key`` is "" on chats that are not robots (a key is unique only when set).
    """

    __tablename__ = "group_chat"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    region_id: int = Field(foreign_key="region.id", index=True)
    robot_key: str = Field(max_length=128)
    active: bool = True
    kind: str = Field(default=GroupChatKind.ROBOT, max_length=16)
    #: user_account.id of the grid worker or cadre who keeps the group (required for relay)
    keeper_user_id: int | None = None
    #: the WeCom userid of a customer group's owner (the mass message's sender)
    owner_userid: str | None = Field(default=None, max_length=64)
    #: a customer group's chat_id at WeCom
    wecom_chat_id: str | None = Field(default=None, max_length=64)


class Item(SQLModel, table=True):
    """A piece of government information, with the standard catalogue fields."""

    id: int | None = Field(default=None, primary_key=True)
    external_id: str | None = Field(default=None, unique=True, max_length=128)
    title: str = Field(max_length=200)
    body: str
    publisher: str = Field(max_length=100)
    domain: str | None = Field(default=None, max_length=64)
    region_id: int = Field(foreign_key="region.id")
    disclosure: str = Field(default=Disclosure.PROACTIVE, max_length=16)
    urgency: str = Field(default=Urgency.NORMAL, max_length=16)
    source_url: str | None = Field(default=None, max_length=500)
    formed_at: datetime | None = None
    published_at: datetime | None = None
    status: str = Field(default=ItemStatus.DRAFT, max_length=16, index=True)
    domains: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_by: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # the catalogue's fields (公开事项: 依据, 时限, 对象, 渠道)
    # and the document's (发文字号, 索引号)
    basis: str | None = Field(default=None, max_length=500)
    time_limit_days: int | None = None
    audience: str | None = Field(default=None, max_length=100)
    disclosure_channels: list[str] | None = Field(default=None, sa_column=Column(JSON))
    doc_number: str | None = Field(default=None, max_length=100)
    index_number: str | None = Field(default=None, max_length=64, index=True)
    #: 政策解读: {"text", "url", "attachment", "by", "contact"}, reviewed with the item
    interpretation: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    #: linked, not copied: [{"name", "url"}]
    attachments: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    #: a correction draft of this (approved) item, made when its source page changed
    corrects_id: int | None = Field(default=None, foreign_key="item.id")
    #: the county source it was ingested from, and when it vanished from there
    source_id: int | None = Field(default=None, foreign_key="source.id", index=True)
    gone_at: datetime | None = None
    #: 撤回: taken down after its push (its page says so, with the reason)
    withdrawn_at: datetime | None = None
    withdraw_reason: str | None = Field(default=None, max_length=200)
    #: 失效: from then on it leaves the notice lists and its page says so
    expires_at: datetime | None = None
    #: the reviewer's domain decision before approval (issue 24): who took it (None: not
    #: yet) and the domain chosen (None with a reviewer: "no domain"); wins in matching
    domain_reviewed_by: str | None = Field(default=None, max_length=64)
    reviewed_domain: str | None = Field(default=None, max_length=64)


class Review(SQLModel, table=True):
    """One step of the confidentiality review (保密审查)."""

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    step: str = Field(max_length=16)  # staff | leader | urgent | submit
    decision: str = Field(max_length=16)  # approve | reject | submit
    opinion: str = Field(default="", max_length=1000)
    publish_form: str = Field(default="", max_length=100)
    reviewer: str = Field(max_length=64)
    at: datetime = Field(default_factory=utcnow)


class ItemMatch(SQLModel, table=True):
    """A group an item was matched to, and why."""

    __tablename__ = "item_match"
    item_id: int = Field(foreign_key="item.id", primary_key=True)
    group_id: int = Field(foreign_key="push_group.id", primary_key=True)
    reasons: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )


class Push(SQLModel, table=True):
    """One item going out to its matched groups."""

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", unique=True)
    #: planning | dispatching | done | stopped (nothing more is claimed)
    status: str = Field(default="planning", max_length=16)
    texts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    planned: int = 0
    planned_upto: int = 0  # last resident id planned (progress of chunked planning)
    created_at: datetime = Field(default_factory=utcnow)
    #: when planning last recorded a chunk: a push standing still in ``planning`` is
    #: taken up again by the sweep (its planner died)
    progress_at: datetime | None = None
    planned_at: datetime | None = None
    stopped_at: datetime | None = None
    stopped_by: str | None = Field(default=None, max_length=64)
    stop_reason: str | None = Field(default=None, max_length=200)


class Delivery(SQLModel, table=True):
    """One message to one resident (or one group chat) over one channel.

    A high-volume log written by ``INSERT … SELECT`` from rows that exist: no
    foreign keys (each costs a per-row trigger check on every planned row), and
    every index but the (push, resident) one is partial, so a planned resident
    row maintains only that one and the primary key:

    - ``next_attempt_at`` is NULL on a row planned and never claimed yet (a
      *fresh* row), and again once the row is sent or failed. Fresh rows are
      claimed through :class:`DeliveryRange` in resident order; the claim index
      holds only rows with a time set: rows in flight, re-queued, deferred or
      handed over to SMS.
    - The region index holds only deliveries that missed (the grid workers'
      follow-up across pushes); other region filters come with a push.
    - The cancelled index holds only rows a stop or an opt-out cancelled (never a
      planned row), for the delivery log's status filter.
    """

    __table_args__ = (
        UniqueConstraint("push_id", "resident_id", name="uq_delivery_push_resident"),
        Index(
            "uq_delivery_push_chat",
            "push_id",
            "group_chat_id",
            unique=True,
            postgresql_where=text("group_chat_id IS NOT NULL"),
            sqlite_where=text("group_chat_id IS NOT NULL"),
        ),
        Index(
            "ix_delivery_claim",
            "push_id",
            "channel",
            "status",
            "next_attempt_at",
            postgresql_where=text("next_attempt_at IS NOT NULL"),
            sqlite_where=text("next_attempt_at IS NOT NULL"),
        ),
        Index(
            "ix_delivery_missed",
            "region_id",
            postgresql_where=text("status IN ('failed', 'unreachable')"),
            sqlite_where=text("status IN ('failed', 'unreachable')"),
        ),
        Index(
            "ix_delivery_cancelled",
            "id",
            postgresql_where=text("status = 'cancelled'"),
            sqlite_where=text("status = 'cancelled'"),
        ),
        Index(
            "ix_delivery_provider",
            "provider_id",
            postgresql_where=text("provider_id IS NOT NULL"),
            sqlite_where=text("provider_id IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    push_id: int
    resident_id: int | None = None
    group_chat_id: int | None = None
    region_id: int | None = None
    channel: str = Field(max_length=16)
    provider: str | None = Field(default=None, max_length=16)
    recipient: str | None = Field(default=None, max_length=128)
    status: str = Field(default=DeliveryStatus.QUEUED, max_length=16)
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = None
    #: NULL only on a fresh planned row (see the class notes); rows made here are due now
    next_attempt_at: datetime | None = Field(default_factory=utcnow)
    provider_id: str | None = Field(default=None, max_length=128)
    error_code: str | None = Field(default=None, max_length=64)
    error_message: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    done_at: datetime | None = None
    #: a resident sharing a phone number: the delivery whose one SMS was also for them
    covered_by: int | None = None


class NumberSend(SQLModel, table=True):
    """Which delivery sends a push's one SMS to a phone number several residents share
    (家庭共用号码): the primary key arbitrates between workers claiming at once."""

    __tablename__ = "number_send"
    push_id: int = Field(primary_key=True)
    recipient: str = Field(primary_key=True, max_length=128)
    delivery_id: int


class RosterDraft(SQLModel, table=True):
    """An uploaded roster waiting for its grid worker to apply it (or not) after the report."""

    __tablename__ = "roster_draft"
    id: str = Field(primary_key=True, max_length=32)
    actor: str = Field(max_length=64)
    rows: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, index=True)


def deliveries_of(resident_ids: Collection[int]) -> ColumnElement[bool]:
    """The deliveries of these residents, found push by push through the (push,
    resident) index. ``resident_id`` alone has no index (planning would pay for one
    on every row), so a filter on it alone reads every delivery ever made."""
    column = Delivery.__table__.c  # type: ignore[attr-defined]
    pushes = Push.__table__.c  # type: ignore[attr-defined]
    in_pushes = column.push_id.in_(select(pushes.id))
    return in_pushes & column.resident_id.in_(list(resident_ids))  # type: ignore[no-any-return]


class DeliveryRange(SQLModel, table=True):
    """A chunk of a push's planned residents, and how far dispatch has claimed it.

    Planning writes one per chunk and resident channel, in the transaction that
    writes the chunk's rows, so a range is seen together with all its rows.
    Dispatch claims a range's fresh rows in resident order from ``claimed_upto``
    and moves it on in the claim's transaction; ``claimed_upto = upto_id`` once
    the range has no fresh row left. Claiming walks the (push, resident) index,
    so planning needs no claim index entry per row.
    """

    __tablename__ = "delivery_range"
    push_id: int = Field(primary_key=True)
    channel: str = Field(primary_key=True, max_length=16)
    after_id: int = Field(primary_key=True)  # residents after_id < id <= upto_id
    upto_id: int
    claimed_upto: int


class SandboxMessage(SQLModel, table=True):
    """What the sandbox channel kept: a resident's or group chat's would-be inbox."""

    __tablename__ = "sandbox_message"
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    recipient: str = Field(max_length=128, index=True)
    key: str = Field(max_length=64, index=True)
    text: str
    provider_id: str = Field(max_length=128)
    at: datetime = Field(default_factory=utcnow)


class User(SQLModel, table=True):
    __tablename__ = "user_account"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=64)
    display_name: str = Field(default="", max_length=64)
    password_hash: str = Field(default="", max_length=200)
    role: str = Field(max_length=16)
    active: bool = True
    #: 值班: may approve urgent warnings in one step (never their own)
    duty_officer: bool = False
    #: bumped on logout and password change/reset; console cookies carry it
    session_version: int = 0
    api_token_hash: str | None = Field(default=None, max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    #: where they are told that something waits for them (pusher.staff.notify)
    phone: str | None = Field(default=None, max_length=20)
    openid: str | None = Field(default=None, max_length=64)
    #: when they agreed to be told (None: never notified)
    notify_consent_at: datetime | None = None


class UserRegion(SQLModel, table=True):
    """Regions a grid worker is assigned to."""

    __tablename__ = "user_region"
    user_id: int = Field(foreign_key="user_account.id", primary_key=True)
    region_id: int = Field(foreign_key="region.id", primary_key=True)


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64)
    target: str = Field(default="", max_length=200)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class PendingReceipt(SQLModel, table=True):
    """A receipt that arrived before its delivery's provider id was written; applied later."""

    __tablename__ = "pending_receipt"
    __table_args__ = (
        Index("ix_pending_receipt_provider", "provider", "provider_id"),
        # the cap counts a provider's unexpired receipts; the purge finds expired ones
        Index("ix_pending_receipt_received", "provider", "received_at"),
        # CMPP: a message of unknown outcome is settled by a report for its number
        Index("ix_pending_receipt_recipient", "provider", "recipient", "received_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=16)
    provider_id: str = Field(max_length=128)
    delivered: bool
    code: str = Field(default="", max_length=64)
    received_at: datetime = Field(default_factory=utcnow)
    #: the number the report was for (CMPP; None for other providers)
    recipient: str | None = Field(default=None, max_length=32)


class CmppSubmit(SQLModel, table=True):
    """A CMPP message as recorded before its SUBMIT went out (``id`` is the delivery's id),
    with the gateway's Msg_Ids (space-separated, first segment first) once answered: a
    worker taking over, or any worker after a Redis restart, knows what was in flight."""

    __tablename__ = "cmpp_submit"
    __table_args__ = (Index("ix_cmpp_submit_phone", "phone", "submitted_at"),)
    id: int = Field(primary_key=True, foreign_key="delivery.id", ondelete="CASCADE")
    phone: str = Field(max_length=32)
    submitted_at: datetime
    msg_ids: str | None = Field(default=None, max_length=512)


class LinkOpen(SQLModel, table=True):
    """Opens of an item's short link (``/s/<code>``) on one day (Beijing time), per village
    (``region_code`` "" when the link named none) and per group chat: one counter row, not
    a row per open."""

    __tablename__ = "link_open_day"
    __table_args__ = (
        UniqueConstraint("item_id", "region_code", "group_chat_id", "day", name="uq_link_open_day"),
    )
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id")
    region_code: str = Field(default="", max_length=32)
    #: the group chat the link was posted in (its ``g`` parameter); 0: the link named none
    group_chat_id: int = 0
    day: date = Field(index=True)
    opens: int = 0


class CallbackNonce(SQLModel, table=True):
    """A signed callback already seen (embedded mode; Redis keeps them in production).

    ``key`` is a digest of the callback's timestamp and nonce; a second callback with
    the same pair is a replay. Rows older than twice the accepted clock skew are useless
    (their timestamp is refused anyway) and are deleted as new ones arrive.
    """

    __tablename__ = "callback_nonce"
    key: str = Field(primary_key=True, max_length=64)
    seen_at: datetime = Field(default_factory=utcnow, index=True)


class Source(SQLModel, table=True):
    """A place the county already publishes (a feed, a column's list pages, a JSON
    endpoint), polled every ``interval_minutes``; its new items become drafts."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    kind: str = Field(max_length=16)  # rss | html | json
    url: str = Field(max_length=500)
    region_id: int = Field(foreign_key="region.id")
    domain: str | None = Field(default=None, max_length=64)
    interval_minutes: int = 30
    enabled: bool = True
    #: per kind: CSS selectors, pagination depth, JSON field paths (see pusher.sources.config)
    config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    etag: str | None = Field(default=None, max_length=200)
    last_modified: str | None = Field(default=None, max_length=100)
    last_fetch_at: datetime | None = Field(default=None, index=True)
    last_ok_at: datetime | None = None
    last_error: str | None = Field(default=None, max_length=500)
    items_found: int = 0
    items_created: int = 0
    created_at: datetime = Field(default_factory=utcnow)


class SourceEntry(SQLModel, table=True):
    """One notice seen at a source: its identity (URL, 索引号), the item it became, a digest
    of its title and body (a change after approval makes a correction draft), the detail
    page's validators for conditional GETs, and when it was found gone."""

    __tablename__ = "source_entry"
    __table_args__ = (UniqueConstraint("source_id", "url", name="uq_source_entry_url"),)
    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id")
    url: str = Field(max_length=500, index=True)
    index_number: str | None = Field(default=None, max_length=64, index=True)
    item_id: int | None = Field(default=None, foreign_key="item.id", index=True)
    digest: str = Field(max_length=64)
    etag: str | None = Field(default=None, max_length=200)
    last_modified: str | None = Field(default=None, max_length=100)
    seen_at: datetime = Field(default_factory=utcnow)
    checked_at: datetime = Field(default_factory=utcnow)
    gone_at: datetime | None = None


class WxFollower(SQLModel, table=True):
    """A follower of the official account as we know them before (and after) binding:
    the region of the QR code they followed through, and their subscription-notice
    consent. ``last_seen_at`` opens WeChat's 48-hour window for customer-service replies."""

    __tablename__ = "wx_follower"
    openid: str = Field(primary_key=True, max_length=64)
    region_id: int | None = Field(default=None, foreign_key="region.id", index=True)
    scene: str = Field(default="", max_length=64)
    following: bool = True
    consent_at: datetime | None = None
    followed_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)


class WxBinding(SQLModel, table=True):
    """A follower tied to a roster resident (``bound``), or asking to be (``pending`` for
    the grid worker; ``rejected``). ``proxy``: the follower receives for someone else (代收)."""

    __tablename__ = "wx_binding"
    id: int | None = Field(default=None, primary_key=True)
    openid: str = Field(max_length=64, index=True)
    resident_id: int | None = Field(default=None, foreign_key="resident.id", index=True)
    region_id: int = Field(foreign_key="region.id", index=True)
    name: str = Field(max_length=64)
    phone: str = Field(max_length=20)
    proxy: bool = False
    status: str = Field(default="pending", max_length=16, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = None


class VerifyCode(SQLModel, table=True):
    """A 6-digit confirmation code sent by SMS (kept as a keyed digest, never in clear)."""

    __tablename__ = "verify_code"
    id: int | None = Field(default=None, primary_key=True)
    phone: str = Field(max_length=20, index=True)
    openid: str = Field(max_length=64, index=True)
    address: str = Field(default="", max_length=64, index=True)
    digest: str = Field(max_length=64)
    name: str = Field(max_length=64)
    proxy: bool = False
    tries: int = 0
    used: bool = False
    created_at: datetime = Field(default_factory=utcnow, index=True)
    expires_at: datetime


class ResidentMessage(SQLModel, table=True):
    """What a resident wrote back (SMS reply, WeChat text or voice) that is not a command,
    for their grid worker to answer and close."""

    __tablename__ = "resident_message"
    id: int | None = Field(default=None, primary_key=True)
    resident_id: int | None = Field(default=None, foreign_key="resident.id", index=True)
    region_id: int | None = Field(default=None, foreign_key="region.id", index=True)
    channel: str = Field(max_length=16)
    sender: str = Field(max_length=64)  # openid or phone it came from
    text: str = Field(max_length=2000)
    push_id: int | None = None
    urgent: bool = False
    status: str = Field(default="open", max_length=16, index=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    answer: str | None = Field(default=None, max_length=1000)
    answered_by: str | None = Field(default=None, max_length=64)
    answered_via: str | None = Field(default=None, max_length=16)
    answered_at: datetime | None = None
    closed_at: datetime | None = None


class StaffNotice(SQLModel, table=True):
    """One notice to one console user that something waits for them: written before it
    goes, unique per (subject, round, user), so a retried job never notifies twice.
    ``subject`` is e.g. ``review:<review id>`` or ``message:<id>``; round 1 is the first
    notice, round 2 the reminder."""

    __tablename__ = "staff_notice"
    __table_args__ = (UniqueConstraint("subject", "round", "user_id", name="uq_staff_notice"),)
    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=64, index=True)
    round: int = 1
    user_id: int = Field(foreign_key="user_account.id")
    channel: str = Field(max_length=16)
    status: str = Field(default="sending", max_length=16)  # sending | sent | failed
    error_code: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None


class GroupTask(SQLModel, table=True):
    """One WeCom mass-message task of a push to one owner's customer groups (unique per
    push and owner). ``status``: creating | waiting | settled | failed; ``msgid`` is the
    platform's task id once created; ``settled_at`` is set when all its groups have a
    final state."""

    __tablename__ = "group_task"
    __table_args__ = (UniqueConstraint("push_id", "owner_userid", name="uq_group_task_push_owner"),)
    id: int | None = Field(default=None, primary_key=True)
    push_id: int = Field(foreign_key="push.id")
    owner_userid: str = Field(max_length=64)
    msgid: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(default_factory=utcnow)
    #: when to remind the owner who has not confirmed
    remind_at: datetime
    reminded_at: datetime | None = None
    settled_at: datetime | None = None
    status: str = Field(default="creating", max_length=16)
    error_code: str | None = Field(default=None, max_length=64)
