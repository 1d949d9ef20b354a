"""New, changed, gone: what a notice seen at a source does to the items.

- **New** (its URL not seen at this source): a draft carrying what the page carried,
  unless the same notice is already known — the same URL or 索引号 at any source, or
  the same title published the same day — then it is *merged* (the entry points at the
  item that exists; the same notice in two columns makes one item).
- **Changed** (its title or body's digest differs): a draft or rejected item is
  updated in place; an item already in review or approved gets a *correction draft*
  linked to it (``corrects_id``): nothing changes under a reviewer, nothing is pushed
  without review.
- **Gone** (its page answers 404 or 410): entry and item are flagged, never deleted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.models import Item, ItemStatus, Source, SourceEntry, Urgency, utcnow
from pusher.pipeline.ingest import CONTROLS
from pusher.sources.found import Found
from rules import ItemText, classify_urgency

_EDITABLE = (ItemStatus.DRAFT, ItemStatus.REJECTED)


async def record(
    session: AsyncSession, source: Source, found: Found, *, max_body_chars: int
) -> str:
    """Store what ``found`` means; returns ``new``, ``merged``, ``updated``,
    ``correction`` or ``unchanged``."""
    entry = await session.scalar(
        select(SourceEntry).where(
            SourceEntry.source_id == source.id, SourceEntry.url == found.url[:500]
        )
    )
    if entry is None:
        return await _first_sight(session, source, found, max_body_chars=max_body_chars)
    entry.seen_at = entry.checked_at = utcnow()
    entry.gone_at = None
    digest = found.digest()
    if digest == entry.digest:
        return "unchanged"
    entry.digest = digest
    item = await session.get(Item, entry.item_id) if entry.item_id else None
    if item is not None and item.status in _EDITABLE:
        _fill(item, source, found, max_body_chars=max_body_chars)
        item.updated_at = utcnow()
        return "updated"
    correction = _draft(source, found, max_body_chars=max_body_chars)
    correction.corrects_id = item.id if item is not None else None
    session.add(correction)
    await session.flush()
    entry.item_id = correction.id
    return "correction"


async def _first_sight(
    session: AsyncSession, source: Source, found: Found, *, max_body_chars: int
) -> str:
    item_id = await _known_item(session, found)
    outcome = "merged"
    if item_id is None:
        item = _draft(source, found, max_body_chars=max_body_chars)
        session.add(item)
        await session.flush()
        item_id, outcome = item.id, "new"
    session.add(
        SourceEntry(
            source_id=source.id,
            url=found.url[:500],
            index_number=found.index_number,
            item_id=item_id,
            digest=found.digest(),
        )
    )
    await session.flush()
    return outcome


async def _known_item(session: AsyncSession, found: Found) -> int | None:
    """The item this notice already is (same URL or 索引号, or same title and day)."""
    same = [SourceEntry.url == found.url[:500]]
    if found.index_number:
        same.append(SourceEntry.index_number == found.index_number[:64])
    known = await session.scalar(
        select(SourceEntry.item_id).where(or_(*same), SourceEntry.item_id.is_not(None)).limit(1)
    )
    if known is not None or found.published_at is None:
        return known
    return await session.scalar(
        select(Item.id)
        .where(
            Item.source_id.is_not(None),
            Item.title == _line(found.title, 200),
            Item.published_at == found.published_at,
        )
        .limit(1)
    )


def _line(text: str, limit: int) -> str:
    return " ".join(CONTROLS.sub("", text).split())[:limit]


def _draft(source: Source, found: Found, *, max_body_chars: int) -> Item:
    item = Item(title="", body="", publisher="", region_id=source.region_id)
    _fill(item, source, found, max_body_chars=max_body_chars)
    item.status = ItemStatus.DRAFT
    item.source_id = source.id
    item.domain = source.domain
    return item


def _fill(item: Item, source: Source, found: Found, *, max_body_chars: int) -> None:
    """Copy what the page carried onto ``item``; a body over the limit is cut there."""
    title = _line(found.title, 200)
    body = CONTROLS.sub("", found.body.replace("\r\n", "\n")).strip()
    body = body[:max_body_chars] or f"{title}\n原文：{found.url}"
    item.title, item.body = title, body
    item.publisher = _line(found.publisher or source.name, 100)
    item.source_url = found.url[:500]
    item.urgency = Urgency(classify_urgency(ItemText(id="", title=title, body=body)))
    item.published_at, item.formed_at = found.published_at, found.formed_at
    item.index_number = _short(found.index_number, 64)
    item.doc_number = _short(found.doc_number, 100)
    item.attachments = found.attachments or None
    if found.interpretation_url:
        item.interpretation = (item.interpretation or {}) | {"url": found.interpretation_url}
    item.gone_at = None


def _short(value: str | None, limit: int) -> str | None:
    return _line(value, limit) or None if value else None


async def mark_gone(session: AsyncSession, entry: SourceEntry, *, now: datetime) -> None:
    """The entry's page is gone from the site: flag it and its item, delete nothing."""
    entry.gone_at = entry.checked_at = now
    item = await session.get(Item, entry.item_id) if entry.item_id else None
    if item is not None and item.gone_at is None:
        item.gone_at = now


def preview_row(found: Found, outcome: str) -> dict[str, Any]:
    """One line of a dry run's preview."""
    return {
        "outcome": outcome,
        "url": found.url,
        "title": found.title,
        "published_at": found.published_at.isoformat() if found.published_at else None,
        "index_number": found.index_number,
        "doc_number": found.doc_number,
        "attachments": len(found.attachments),
    }
