"""Ingest: validate a newly published item and store it as a draft.

Control characters (C0/C1 but tab and newline, DEL, bidi overrides and isolates) never
reach the database or an SMS: one-line fields that carry them are refused (422 naming
the field), bodies have them removed (CRLF becomes LF first).

The catalogue's fields (依据, 时限, 对象, 渠道, 发文字号, 索引号), the policy
interpretation (政策解读: a text, a link or an attachment, with who interprets and their
contact) and the attachments (linked, never copied) are bounded; every link is http(s).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl, model_validator
from pydantic.networks import UrlConstraints
from pydantic_core import PydanticCustomError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.errors import InvalidInput, TooLarge
from pusher.models import Disclosure, Item, ItemStatus, Region, Urgency, utcnow
from pusher.pipeline.review import ensure_editable
from rules import ItemText, classify_urgency

CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def refuse_controls(value: str) -> str:
    """``value`` unchanged, or a validation error when it holds a control character."""
    found = CONTROLS.search(value)
    if found is not None:
        raise PydanticCustomError(
            "control_character",
            "含有不允许的控制字符 U+{code}",
            {"code": f"{ord(found.group()):04X}"},
        )
    return value


def strip_controls(value: str) -> str:
    """``value`` without control characters (tab and newline kept, CRLF made LF)."""
    cleaned = CONTROLS.sub("", value.replace("\r\n", "\n")).strip()
    if not cleaned:
        raise PydanticCustomError("string_too_short", "正文不能为空")
    return cleaned


Line = Annotated[str, AfterValidator(refuse_controls)]
Text = Annotated[str, AfterValidator(strip_controls)]
#: an http(s) link, as stored in the 500-character URL columns
Link = Annotated[HttpUrl, UrlConstraints(max_length=500)]
MAX_ATTACHMENTS = 30
MAX_INTERPRETATION_CHARS = 20_000


class AttachmentIn(BaseModel):
    """An attachment on the publisher's own site: its name and link (linked, not copied)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Line = Field(min_length=1, max_length=200)
    url: Link


class InterpretationIn(BaseModel):
    """The policy interpretation (政策解读): a text, a link or an attachment, and who wrote it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: Text | None = Field(default=None, max_length=MAX_INTERPRETATION_CHARS)
    url: Link | None = None
    attachment: AttachmentIn | None = None
    #: 解读人 (the interpreting body) and 联系方式
    by: Line | None = Field(default=None, max_length=100)
    contact: Line | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _has_content(self) -> Self:
        if self.text is None and self.url is None and self.attachment is None:
            raise PydanticCustomError("interpretation_empty", "政策解读须有文字、链接或附件")
        return self


class ItemIn(BaseModel):
    """An item as a publisher submits it (the standard catalogue template's fields)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Line = Field(min_length=1, max_length=200)
    body: Text = Field(min_length=1)
    publisher: Line = Field(min_length=1, max_length=100)
    region_code: Line = Field(min_length=1, max_length=32)
    domain: Line | None = Field(default=None, max_length=64)
    disclosure: Disclosure = Disclosure.PROACTIVE
    #: None: decided from the title (预警信号, 紧急转移 … → urgent), see ``rules.classify_urgency``
    urgency: Urgency | None = None
    source_url: HttpUrl | None = None
    formed_at: datetime | None = None
    published_at: datetime | None = None
    external_id: Line | None = Field(default=None, max_length=128)
    # the catalogue entry's fields and the document's numbers
    basis: Line | None = Field(default=None, max_length=500)
    time_limit_days: int | None = Field(default=None, ge=0, le=3650)
    audience: Line | None = Field(default=None, max_length=100)
    disclosure_channels: list[Annotated[Line, Field(min_length=1, max_length=32)]] | None = (
        Field(default=None, max_length=12)
    )
    doc_number: Line | None = Field(default=None, max_length=100)
    index_number: Line | None = Field(default=None, max_length=64)
    interpretation: InterpretationIn | None = None
    attachments: list[AttachmentIn] | None = Field(default=None, max_length=MAX_ATTACHMENTS)


#: fields stored as JSON (their links as plain strings), not as the model's objects
_JSON_FIELDS = {"interpretation", "attachments"}
_NOT_STORED = {"region_code", "source_url", "urgency", *_JSON_FIELDS}


def stored_fields(data: ItemIn) -> dict[str, Any]:
    """The item's columns from ``data`` (all but the region, urgency and source URL)."""
    return data.model_dump(exclude=_NOT_STORED) | data.model_dump(
        mode="json", include=_JSON_FIELDS
    )


def urgency_of(data: ItemIn) -> Urgency:
    """The publisher's urgency, or the one the title implies when none was given."""
    if data.urgency is not None:
        return data.urgency
    return Urgency(classify_urgency(ItemText(id="", title=data.title, body=data.body)))


async def create_item(
    session: AsyncSession, data: ItemIn, *, max_body_chars: int, created_by: int | None = None
) -> tuple[Item, bool]:
    """Store ``data`` as a draft; returns the item and whether it is new.

    An ``external_id`` seen before returns the stored item unchanged, so a feed
    or a client that retries never creates duplicates.
    """
    if len(data.body) > max_body_chars:
        raise TooLarge(f"正文超过 {max_body_chars} 字的上限", field="body")
    if data.external_id:
        existing = await session.scalar(select(Item).where(Item.external_id == data.external_id))
        if existing is not None:
            return existing, False
    region_id = await session.scalar(select(Region.id).where(Region.code == data.region_code))
    if region_id is None:
        raise InvalidInput(f"未知的地区代码：{data.region_code}", field="region_code")
    item = Item(
        **stored_fields(data),
        urgency=urgency_of(data),
        source_url=str(data.source_url) if data.source_url else None,
        region_id=region_id,
        status=ItemStatus.DRAFT,
        created_by=created_by,
    )
    session.add(item)
    await session.flush()
    return item, True


async def update_item(
    session: AsyncSession, item: Item, data: ItemIn, *, max_body_chars: int
) -> Item:
    """Replace a draft's or rejected item's fields; approved items are frozen."""
    ensure_editable(item)
    if len(data.body) > max_body_chars:
        raise TooLarge(f"正文超过 {max_body_chars} 字的上限", field="body")
    region_id = await session.scalar(select(Region.id).where(Region.code == data.region_code))
    if region_id is None:
        raise InvalidInput(f"未知的地区代码：{data.region_code}", field="region_code")
    for key, value in stored_fields(data).items():
        setattr(item, key, value)
    item.urgency = urgency_of(data)
    item.source_url = str(data.source_url) if data.source_url else None
    item.region_id = region_id
    item.status = ItemStatus.DRAFT
    item.updated_at = utcnow()
    return item
