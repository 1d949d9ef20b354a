"""One resident written through the API: the same checks and writes as a roster row."""

from __future__ import annotations

from collections.abc import Collection

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.errors import InvalidInput
from pusher.models import Resident
from pusher.rosters.apply import apply_rows
from pusher.rosters.columns import Headers, RosterRow, read_row
from pusher.rosters.compare import Planned, grid_of
from pusher.rosters.records import OnRecord, load_grids, load_residents, load_topics


class ResidentIn(BaseModel):
    """A resident as the API takes it: the roster's columns, named in English."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    grid: str = Field(min_length=1, max_length=64, description="网格代码或名称")
    phone: str | None = Field(default=None, max_length=20)
    key: str | None = Field(default=None, max_length=64, description="身份证后四位或其他编号")
    tags: list[str] = Field(default_factory=list, max_length=20)
    topics: list[str] | None = Field(default=None, max_length=100, description="订阅栏目名称")
    sms_consent: bool | None = Field(
        default=None, description="不填：新居民按本镇默认，已有居民不变"
    )
    openid: str | None = Field(default=None, max_length=64)

    def row(self) -> RosterRow:
        """The resident as a checked roster row."""
        consent = "" if self.sms_consent is None else ("是" if self.sms_consent else "否")
        cells = {
            "name": self.name,
            "grid": self.grid,
            "phone": self.phone or "",
            "key": self.key or "",
            "tags": "、".join(self.tags),
            "consent": consent,
            "openid": self.openid or "",
        }
        if self.topics is not None:
            cells["topics"] = "、".join(self.topics)
        return read_row(1, cells, Headers({c: c for c in cells}, [], []))


async def _current(session: AsyncSession, resident_id: int) -> OnRecord:
    region = await session.scalar(select(Resident.region_id).where(Resident.id == resident_id))
    found = [p for p in await load_residents(session, [region or 0]) if p.id == resident_id]
    if not found:
        raise InvalidInput("这位居民不存在")
    return found[0]


async def save_one(
    session: AsyncSession,
    data: ResidentIn,
    *,
    resident_id: int | None,
    scope: Collection[int] | None,
    default_consent: bool,
    actor: str,
) -> int:
    """Create (``resident_id`` None) or update a resident; returns its id. The caller
    checks that an existing resident is in scope; the grid named must be in it too.

    Raises :class:`InvalidInput` naming every problem (in Chinese)."""
    row = data.row()
    grid, problem = grid_of(row.grid, await load_grids(session), scope)
    topics = await load_topics(session)
    unknown = [t for t in row.topics or [] if t not in topics]
    if unknown:
        row.problems.append(f"找不到订阅栏目「{'、'.join(unknown[:3])}」")
    if problem:
        row.problems.append(problem)
    if row.problems or grid is None:
        raise InvalidInput("；".join(row.problems))
    current = None if resident_id is None else await _current(session, resident_id)
    fallback = default_consent if current is None else current.consent
    consent = fallback if row.consent is None else row.consent
    written = await apply_rows(session, [Planned(row, grid, current, consent)], topics, actor=actor)
    return written[0]
