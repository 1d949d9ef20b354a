"""Sources as rows: create and replace from a :class:`SourceIn`, and their JSON."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.errors import InvalidInput, NotFound
from pusher.models import Region, Source
from pusher.sources.config import SourceIn


async def _region_id(session: AsyncSession, code: str) -> int:
    region_id = await session.scalar(select(Region.id).where(Region.code == code))
    if region_id is None:
        raise InvalidInput(f"未知的地区代码：{code}", field="region_code")
    return int(region_id)


async def save_source(
    session: AsyncSession, data: SourceIn, source: Source | None = None
) -> Source:
    """A new source from ``data``, or ``source`` replaced by it (its fetch state kept;
    a new URL forgets the validators of the old one)."""
    region_id = await _region_id(session, data.region_code)
    if source is None:
        source = Source(name="", kind="", url="", region_id=region_id)
        session.add(source)
    url = str(data.url)
    if url != source.url:
        source.etag = source.last_modified = None
    source.name, source.kind, source.url = data.name, data.kind.value, url
    source.region_id, source.domain = region_id, data.domain
    source.interval_minutes, source.enabled = data.interval_minutes, data.enabled
    source.config = data.config.model_dump(exclude_defaults=True)
    await session.flush()
    return source


async def get_source(session: AsyncSession, source_id: int) -> Source:
    source = await session.get(Source, source_id)
    if source is None:
        raise NotFound(f"来源 {source_id} 不存在")
    return source


def source_json(source: Source) -> dict[str, Any]:
    return source.model_dump(mode="json", exclude={"etag", "last_modified"})
