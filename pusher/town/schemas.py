"""The JSON bodies of the town API (``/api/v1/regions``, ``topics``, ``groups``,
``group-chats``), bounded, and turned into the service functions' inputs."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from pusher.town.chats import ChatIn
from pusher.town.groups import MAX_MEMBERS, MAX_RULE_CHARS, MAX_RULES, GroupIn
from pusher.town.region_import import MAX_ROWS
from pusher.town.regions import MAX_NAME, MAX_REASON, RegionIn
from pusher.town.topics import MAX_KEYWORDS, TopicIn

Name = Field(min_length=1, max_length=MAX_NAME)
Code = Field(default="", max_length=20, pattern=r"^[0-9]*$")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)


class RegionBody(_Body):
    """A new region: ``code`` may be empty for a grid (the next free code under its village)."""

    name: str = Name
    code: str = Code
    parent_code: str | None = Field(default=None, max_length=20, pattern=r"^[0-9]+$")

    def to_input(self) -> RegionIn:
        return RegionIn(self.name, self.code, self.parent_code)


class RegionChange(_Body):
    """Rename and/or move (to another parent of the same level)."""

    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)
    parent_code: str | None = Field(default=None, max_length=20, pattern=r"^[0-9]+$")


class RegionRowBody(_Body):
    code: str = Field(default="", max_length=40)
    name: str = Field(default="", max_length=200)
    parent_code: str = Field(default="", max_length=40)


class RegionImport(_Body):
    """The same rows as a spreadsheet import; all written or (with any error) none."""

    rows: list[RegionRowBody] = Field(min_length=1, max_length=MAX_ROWS)

    def as_sheet(self) -> list[dict[str, str]]:
        return [{"代码": r.code, "名称": r.name, "上级代码": r.parent_code} for r in self.rows]


class Retire(_Body):
    reason: str = Field(default="", max_length=MAX_REASON)


class TopicBody(_Body):
    name: str = Name
    keywords: list[str] = Field(default_factory=list, max_length=MAX_KEYWORDS)
    position: int = Field(default=0, ge=-10_000, le=10_000)
    active: bool = True

    def to_input(self) -> TopicIn:
        return TopicIn(self.name, tuple(self.keywords), self.position)


class GroupBody(_Body):
    name: str = Name
    kind: Literal["region", "topic", "tag", "list"]
    region_code: str | None = Field(default=None, max_length=20, pattern=r"^[0-9]+$")
    topic_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    tag: str | None = Field(default=None, max_length=32)
    rules: list[str] | None = Field(default=None, max_length=MAX_RULES)
    active: bool = True

    def to_input(self) -> GroupIn:
        rules = None if self.rules is None else tuple(r[: MAX_RULE_CHARS + 1] for r in self.rules)
        return GroupIn(self.name, self.kind, self.region_code, self.topic_id, self.tag, rules)


class Members(_Body):
    #: database ids: positive and within a 64-bit integer (a larger one is a 422, not a 500)
    resident_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(max_length=MAX_MEMBERS)


class ChatBody(_Body):
    """``robot_key``: the robot's webhook address or key (robots only); empty on update
    keeps it. A customer group needs ``owner_userid`` and ``wecom_chat_id``, an ordinary
    WeChat group (``relay``) its ``keeper``."""

    name: str = Name
    region_code: str = Field(min_length=6, max_length=20, pattern=r"^[0-9]+$")
    robot_key: str = Field(default="", max_length=300)
    active: bool = True
    #: robot | customer_group | relay (fixed once registered; empty on update: keep)
    kind: str = Field(default="", max_length=16)
    #: the keeper's username (required for relay); empty on update: keep
    keeper: str = Field(default="", max_length=64)
    owner_userid: str = Field(default="", max_length=64)
    wecom_chat_id: str = Field(default="", max_length=64)

    def to_input(self) -> ChatIn:
        return ChatIn(
            self.name,
            self.region_code,
            self.robot_key,
            kind=self.kind,
            keeper=self.keeper,
            owner_userid=self.owner_userid,
            wecom_chat_id=self.wecom_chat_id,
        )


MODELS: tuple[type[BaseModel], ...] = (
    RegionBody,
    RegionChange,
    RegionImport,
    Retire,
    TopicBody,
    GroupBody,
    Members,
    ChatBody,
)
