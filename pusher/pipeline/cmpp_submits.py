"""The CMPP channel's record of submits, in the database (see channels.cmpp.ledger).

Every worker and the worker that takes over a killed one's rows read the same
record, and a Redis restart does not touch it. Costs per dispatched batch: one
upsert per slice of ``window`` messages before their SUBMITs, one update with the
Msg_Ids after them (and one delete when some were refused), without waiting for the
WAL flush (see :func:`_writing`). Reports that no message of the receiving worker claimed
are parked by the receipt sink with their number (``pending_receipt.recipient``);
:meth:`DatabaseLedger.to_numbers` reads them back, leaving out any whose Msg_Id a
delivery already carries (those were applied, not parked). A look-up of unknown
outcomes reads every number it needs in two queries (submits, parked reports), not two
per message.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Row,
    Select,
    bindparam,
    case,
    delete,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from channels.cmpp.ledger import Submitted, ToNumber
from pusher.db import SessionFactory, transaction
from pusher.models import CmppSubmit, PendingReceipt, aware, utcnow

C = CmppSubmit.__table__.c
P = PendingReceipt.__table__.c
#: Bounds on what one number's look-up reads (a number with more is a flood, not a person).
PER_NUMBER = 200
#: Numbers read by one pair of queries (three bound values each, well within a driver's limit).
NUMBERS_PER_QUERY = 1000
SUBMIT_COLUMNS = (C.id, C.phone, C.submitted_at, C.msg_ids)


@asynccontextmanager
async def _writing(db: SessionFactory) -> AsyncIterator[AsyncSession]:
    """A write transaction that does not wait for the WAL flush on PostgreSQL.

    The record must outlive a killed worker and a restarted Redis, which a commit
    in the server's memory does (other sessions see it at once); only a crash of the
    database server itself could lose the last fraction of a second of it (those
    messages would be sent again). Waiting for the flush cost ~10 ms per slice here.
    """
    async with transaction(db) as session:
        if session.bind.dialect.name == "postgresql":
            await session.execute(text("SET LOCAL synchronous_commit TO OFF"))
        yield session


class DatabaseLedger:
    """:class:`channels.cmpp.ledger.Ledger` over ``cmpp_submit`` and ``pending_receipt``."""

    def __init__(self, db: SessionFactory) -> None:
        self._db = db

    async def submitting(self, messages: Sequence[tuple[str, str]]) -> None:
        now = utcnow()
        rows = [
            {"id": int(k), "phone": p[:32], "submitted_at": now, "msg_ids": None}
            for k, p in messages
        ]
        async with _writing(self._db) as session:
            module = postgresql if session.bind.dialect.name == "postgresql" else sqlite
            stmt = module.insert(CmppSubmit)
            await session.execute(
                stmt.on_conflict_do_update(
                    index_elements=[C.id],
                    set_={"phone": stmt.excluded.phone, "submitted_at": now, "msg_ids": None},
                ),
                rows,
            )

    async def taken(self, msg_ids: Mapping[str, Sequence[str]]) -> None:
        async with _writing(self._db) as session:
            await session.execute(
                update(CmppSubmit.__table__)
                .where(C.id == bindparam("b_id"))
                .values(msg_ids=bindparam("b_ids")),
                [{"b_id": int(k), "b_ids": " ".join(v)[:512]} for k, v in msg_ids.items() if v],
            )

    async def withdrawn(self, keys: Sequence[str]) -> None:
        async with _writing(self._db) as session:
            await session.execute(delete(CmppSubmit).where(C.id.in_([int(k) for k in keys])))

    async def submitted(self, keys: Sequence[str]) -> dict[str, Submitted]:
        ids = [int(k) for k in keys if k.isdigit()]
        async with self._db() as session:
            rows = await session.execute(select(*SUBMIT_COLUMNS).where(C.id.in_(ids)))
            return {str(r.id): _submitted(r) for r in rows}

    async def to_numbers(self, since: Mapping[str, datetime]) -> dict[str, ToNumber]:
        """Each number's rows since its own time, the oldest ``PER_NUMBER`` of each kind
        per number; ``NUMBERS_PER_QUERY`` numbers per pair of queries."""
        found: dict[str, ToNumber] = {phone: ([], []) for phone in since}
        items = list(since.items())
        async with self._db() as session:
            for start in range(0, len(items), NUMBERS_PER_QUERY):
                part = dict(items[start : start + NUMBERS_PER_QUERY])
                submits = await session.execute(
                    _per_number(part, SUBMIT_COLUMNS, C.phone, C.submitted_at)
                )
                for row in submits:
                    found[row.phone][0].append(_submitted(row))
                reports = await session.execute(
                    _per_number(
                        part,
                        (P.recipient, P.provider_id, P.received_at),
                        P.recipient,
                        P.received_at,
                        P.provider == "cmpp",
                    )
                )
                for phone, pid, at in reports:
                    found[phone][1].append((pid, aware(at)))
        return found

    async def heard(self, phone: str, msg_id: str) -> None:
        """Nothing: the receipt sink parks the report with its number."""


def _per_number(
    since: Mapping[str, datetime],
    columns: Sequence[Column[Any]],
    phone: Column[Any],
    at: Column[Any],
    *where: ColumnElement[bool],
) -> Select[Any]:
    """``columns`` of the rows of these numbers (``phone``), each number's since its own
    time (``at``), grouped by number and oldest first, at most ``PER_NUMBER`` (its
    oldest) per number: what one query per number with that limit read."""
    own_since = case({p: literal(t, at.type) for p, t in since.items()}, value=phone)
    rank = func.row_number().over(partition_by=phone, order_by=at).label("rank")
    inner = (
        select(*columns, rank)
        .where(*where, phone.in_(list(since)), at >= min(since.values()), at >= own_since)
        .subquery()
    )
    by = inner.c[phone.key], inner.c[at.key]
    kept = [inner.c[c.key] for c in columns]
    return select(*kept).where(inner.c.rank <= PER_NUMBER).order_by(*by)


def _submitted(row: Row[Any]) -> Submitted:
    key, phone, at, ids = row
    return Submitted(str(key), str(phone), aware(at), tuple((ids or "").split()))
