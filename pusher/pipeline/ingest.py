"""Ingest: validate a newly published item and store it as a draft."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, HttpUrl
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.errors import InvalidInput, TooLarge
from pusher.models import Disclosure, Item, ItemStatus, Region, Urgency, utcnow
from pusher.pipeline.review import ensure_editable
from rules import ItemText, classify_urgency


class ItemIn(BaseModel):
    """An item as a publisher submits it (the standard catalogue template's fields)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1)
    publisher: str = Field(min_length=1, max_length=100)
    region_code: str = Field(min_length=1, max_length=32)
    domain: str | None = Field(default=None, max_length=64)
    disclosure: Disclosure = Disclosure.PROACTIVE
    #: None: decided from the title (预警信号, 紧急转移 … → urgent), see ``rules.classify_urgency``
    urgency: Urgency | None = None
    source_url: HttpUrl | None = None
    formed_at: datetime | None = None
    published_at: datetime | None = None
    external_id: str | None = Field(default=None, max_length=128)


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
