"""The delivery log's filters reach their rows through the indexes planned rows have.

With a million deliveries a region, a resident or a group-chat filter that reads the
whole table takes seconds (``pusher bench deliverylog``). At test scale PostgreSQL would
read a small table whole anyway, so sequential scans are priced out here and the plan of
each filter's page must go through the index it was shaped for, with the filter's terms
on it: the (push, resident) one with the residents for regions and residents (at test
scale the residents may be checked on the index's rows rather than probed; at a million
rows they are probed, which the bench shows), the group-chat one for group chats, the
claim index for rows being sent.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql

from pusher.models import Delivery, Region, Resident, Urgency
from pusher.runtime import jobs
from pusher.runtime.context import Resources
from pusher.runtime.resources import open_resources
from pusher.settings import Settings
from pusher.web.delivery_log import Grid, LogFilter, conditions, regions_under, rows_query
from tests.fanout.rig import RecordingQueue
from tests.spine.conftest import start
from tests.spine.flow import publish

pytestmark = pytest.mark.production
COLUMNS = (Delivery, Resident.name, Grid.name)


@pytest.fixture
async def planned(production_settings: Settings) -> AsyncIterator[Resources]:
    """A town of 300 residents with one town-wide push planned."""
    town, _ = await start(production_settings, residents=300)
    async with open_resources(production_settings, queue=RecordingQueue()) as r:
        item_id = await publish(
            r, region_code=town.town_code, title="山洪预警", body="请转移。", urgency=Urgency.URGENT
        )
        assert await jobs.process_item({"resources": r}, item_id) is not None
        async with r.db() as session:
            await session.execute(text("ANALYZE"))
            await session.commit()
        yield r


def _indexes(node: dict[str, Any], above: str = "") -> list[tuple[str, str]]:
    """(index name, the conditions on its rows) of every index scan in a JSON plan: its
    index condition and filter, and for a bitmap scan its heap scan's."""
    conds = " ".join(node.get(k, "") for k in ("Index Cond", "Filter", "Recheck Cond"))
    found = [(node["Index Name"], f"{conds} {above}")] if "Index Name" in node else []
    heap = conds if node.get("Node Type") == "Bitmap Heap Scan" else ""
    for child in node.get("Plans", []):
        found += _indexes(child, heap)
    return found


async def _plan_of(r: Resources, f: LogFilter) -> list[tuple[str, str]]:
    async with r.db() as session:
        where = await conditions(session, f)
        query = rows_query(COLUMNS, where, after=None, limit=100)
        sql = str(
            query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
        )
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        raw = await session.scalar(text(f"EXPLAIN (FORMAT JSON) {sql}"))
    plan = raw if isinstance(raw, list) else json.loads(raw)
    return _indexes(plan[0]["Plan"])


async def test_a_grid_filter_probes_the_push_resident_index(planned: Resources) -> None:
    async with planned.db() as session:
        grid = await session.scalar(select(Region.code).where(Region.kind == "grid").limit(1))
        assert grid is not None
        regions = await regions_under(session, grid)
    used = await _plan_of(planned, LogFilter(region_ids=regions))
    assert any(
        name == "uq_delivery_push_resident" and "resident_id" in cond for name, cond in used
    ), used


async def test_a_grid_workers_scope_with_a_status_probes_the_push_resident_index(
    planned: Resources,
) -> None:
    async with planned.db() as session:
        village = await session.scalar(select(Region.code).where(Region.kind == "village").limit(1))
        assert village is not None
        scope = await regions_under(session, village)
    used = await _plan_of(planned, LogFilter(region_ids=scope, status="delivered", push_id=1))
    assert any(
        name == "uq_delivery_push_resident" and "resident_id" in cond for name, cond in used
    ), used


async def test_a_resident_filter_probes_the_push_resident_index(planned: Resources) -> None:
    async with planned.db() as session:
        resident = await session.scalar(select(Resident.id).limit(1))
    used = await _plan_of(planned, LogFilter(resident_id=resident))
    assert any(
        name == "uq_delivery_push_resident" and "resident_id" in cond for name, cond in used
    ), used


async def test_the_group_chat_channel_reads_the_group_chat_index(planned: Resources) -> None:
    used = await _plan_of(planned, LogFilter(channel="wecom"))
    assert any(name == "uq_delivery_push_chat" for name, _ in used), used


async def test_rows_being_sent_are_read_from_the_claim_index(planned: Resources) -> None:
    used = await _plan_of(planned, LogFilter(status="sending"))
    assert any(name == "ix_delivery_claim" for name, _ in used), used


async def test_cancelled_rows_are_read_from_their_index(planned: Resources) -> None:
    used = await _plan_of(planned, LogFilter(status="cancelled"))
    assert any(name == "ix_delivery_cancelled" for name, _ in used), used


async def test_the_status_is_inline_so_prepared_plans_can_use_partial_indexes(
    planned: Resources,
) -> None:
    """asyncpg prepares statements and PostgreSQL may plan them once for any parameter:
    such a plan cannot use ``WHERE status = 'cancelled'`` indexes for ``status = $1``."""
    async with planned.db() as session:
        where = await conditions(session, LogFilter(status="cancelled"))
        query = rows_query(COLUMNS, where, after=None, limit=100)
        # what is sent to the server: post-compile values rendered, bound ones as $n
        compiled = query.compile(
            dialect=session.bind.dialect, compile_kwargs={"render_postcompile": True}
        )
    assert "'cancelled'" in str(compiled), str(compiled)
