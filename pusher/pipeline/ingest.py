"""Ingest: validate a newly published item and store it as a draft.

Control characters (C0/C1 but tab and newline, DEL, bidi overrides and isolates) never
reach the database or an SMS: one-line fields that carry them are refused (422 naming
the field), bodies have them removed (CRLF becomes LF first).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl
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
        **data.model_dump(exclude={"region_code", "source_url", "urgency"}),
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
    for key, value in data.model_dump(exclude={"region_code", "source_url", "urgency"}).items():
        setattr(item, key, value)
    item.urgency = urgency_of(data)
    item.source_url = str(data.source_url) if data.source_url else None
    item.region_id = region_id
    item.status = ItemStatus.DRAFT
    item.updated_at = utcnow()
    return item
