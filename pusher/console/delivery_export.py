"""The delivery log's export: up to :data:`EXPORT_LIMIT` rows of the page's filters,
streamed (see :mod:`pusher.console.streamed`) and audited.

The rows come from one query read in partitions of :data:`PAGE` (a server-side cursor
on PostgreSQL), in a session that ends with the last partition. Keyset pages in short
sessions were tried: they hold nothing between pages, but a filter whose index does not
give id order (one push: its rows come through the (push, resident) index) sorts what
is left of the push for every page, three times slower for 100,000 rows and worse the
bigger the push. The price of one query: a CSV download holds its connection and read
snapshot until the client has taken the last partition, a slow client included; an
.xlsx export lets go as soon as its last partition is in the workbook, before it is
saved and sent.

The audit row is committed before the first byte leaves, so no export goes without
one even if the process dies mid-way; when the download ends (or breaks off) the row
is filled in with the rows actually written and ``complete``. Counting first would
cost a second scan and could still differ from what is written.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing, asynccontextmanager
from typing import Any

from aiohttp import web
from sqlalchemy import ColumnElement, update

from pusher.audit import record
from pusher.console.base import STAFF, Viewer, viewer
from pusher.console.deliveries import EXPORT_COLUMNS, HEADER, log_row, where_of
from pusher.console.streamed import Tally, finish, send
from pusher.db import SessionFactory, transaction
from pusher.models import AuditLog, Role
from pusher.web.delivery_log import rows_query
from pusher.web.keys import RESOURCES

EXPORT_LIMIT = 100_000
#: rows read at a time: turning 1,000 rows into Python values takes the event loop about
#: 15 ms (dates, strings), so a partition is half that
PAGE = 500


async def partitions(
    factory: SessionFactory, where: list[ColumnElement[bool]]
) -> AsyncGenerator[Sequence[Any], None]:
    """Up to :data:`EXPORT_LIMIT` rows of ``where`` in id order, :data:`PAGE` at a time."""
    query = rows_query(EXPORT_COLUMNS, where, after=None, limit=EXPORT_LIMIT)
    async with factory() as db:
        result = await (await db.connection()).stream(query.execution_options(yield_per=PAGE))
        async for part in result.partitions():
            yield part


@asynccontextmanager
async def audited(
    factory: SessionFactory, me: Viewer, action: str, target: str, **detail: Any
) -> AsyncIterator[Tally]:
    """An audit row committed now; its ``rows`` and ``complete`` set from the tally
    when the block ends, however it ends."""
    tally = Tally()
    async with transaction(factory) as db:
        row = record(db, actor=me.name, action=action, target=target,
                     detail={**detail, "rows": 0, "complete": False})  # fmt: skip
        await db.flush()
    try:
        yield tally
    finally:  # written even when the request is cancelled (the client went away)
        done = {**detail, "rows": tally.rows, "complete": tally.complete}
        await finish(_fill_in(factory, row.id or 0, done))


async def _fill_in(factory: SessionFactory, row_id: int, detail: dict[str, Any]) -> None:
    async with transaction(factory) as db:
        await db.execute(update(AuditLog).where(AuditLog.id == row_id).values(detail=detail))


async def export(request: web.Request) -> web.StreamResponse:
    me = await viewer(request, *STAFF, Role.GRID_WORKER)
    fmt = request.match_info["fmt"]
    factory = request.app[RESOURCES].db
    async with factory() as db:
        where = await where_of(db, request, me)
    async with (
        audited(factory, me, "deliveries.export", request.path_qs, format=fmt) as tally,
        aclosing(partitions(factory, where)) as parts,  # a broken-off download lets go too
    ):
        return await send(
            request, fmt, "推送记录", HEADER, parts,
            line=lambda r: log_row(me, r, r.resident_name, r.grid_name), tally=tally,
        )  # fmt: skip
