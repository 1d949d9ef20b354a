"""A roster upload from start to end: headers, rows, comparison, and (when asked) apply.

The console and the API's bulk upsert both call :func:`check` and :func:`upsert`, so a
file and a JSON list of the same rows get the same report.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from pusher.rosters.apply import apply_rows
from pusher.rosters.columns import read_headers
from pusher.rosters.compare import Comparison, compare, grid_of, read_rows
from pusher.rosters.records import load_grids, load_residents, load_topics
from pusher.rosters.report import RosterReport

Cells = Sequence[Mapping[str, str]]


def header_of(cells: Cells) -> list[str]:
    """The header row as the rows carry it (every row has the same keys)."""
    seen: dict[str, None] = {}
    for row in cells[:1]:
        seen.update(dict.fromkeys(row))
    return list(seen)


async def check(
    session: AsyncSession,
    cells: Cells,
    *,
    scope: Collection[int] | None,
    default_consent: bool,
) -> tuple[Comparison, dict[str, int]]:
    """What applying ``cells`` would do; with the town's topics by name."""
    headers = read_headers(header_of(cells))
    if headers.missing:
        report = RosterReport(
            total=len(cells), unknown_columns=headers.unknown, missing_columns=headers.missing
        )
        return Comparison(report), {}
    rows = await asyncio.to_thread(read_rows, list(cells), headers)  # 20,000 rows: ~0.3 s
    grids = await load_grids(session)
    topics = await load_topics(session)
    grid_ids = {g for r in rows if (g := grid_of(r.grid, grids, scope)[0]) is not None}
    people = await load_residents(session, grid_ids)
    result = await asyncio.to_thread(
        compare,
        rows,
        grids=grids,
        people=people,
        topics=topics,
        scope=scope,
        default_consent=default_consent,
    )
    result.report.unknown_columns = headers.unknown
    return result, topics


async def upsert(
    session: AsyncSession,
    cells: Cells,
    *,
    scope: Collection[int] | None,
    default_consent: bool,
    actor: str,
    apply: bool,
) -> RosterReport:
    """Check ``cells`` and, with ``apply``, write its good rows (the caller commits)."""
    result, topics = await check(session, cells, scope=scope, default_consent=default_consent)
    if apply and result.report.readable:
        written = await apply_rows(session, result.planned, topics, actor=actor)
        result.report.applied = len(written)
    return result.report
