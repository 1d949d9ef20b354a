"""The CMPP channel's record of submits, in the database (see channels.cmpp.ledger).

Every worker and the worker that takes over a killed one's rows read the same
record, and a Redis restart does not touch it. Costs per dispatched batch: one
upsert per slice of ``window`` messages before their SUBMITs, one update with the
Msg_Ids after them (and one delete when some were refused), without waiting for the
WAL flush (see :func:`_writing`). Reports that no message of the receiving worker claimed
are parked by the receipt sink with their number (``pending_receipt.recipient``);
:meth:`DatabaseLedger.to_number` reads them back, leaving out any whose Msg_Id a
delivery already carries (those were applied, not parked).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, delete, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from channels.cmpp.ledger import Submitted
from pusher.db import SessionFactory, transaction
from pusher.models import CmppSubmit, PendingReceipt, aware, utcnow

C = CmppSubmit.__table__.c
P = PendingReceipt.__table__.c
#: Bounds on what one number's look-up reads (a number with more is a flood, not a person).
PER_NUMBER = 200


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
            rows = await session.execute(
                select(C.id, C.phone, C.submitted_at, C.msg_ids).where(C.id.in_(ids))
            )
            return {str(r.id): _submitted(r) for r in rows}

    async def to_number(
        self, phone: str, since: datetime
    ) -> tuple[list[Submitted], list[tuple[str, datetime]]]:
        async with self._db() as session:
            submits = await session.execute(
                select(C.id, C.phone, C.submitted_at, C.msg_ids)
                .where(C.phone == phone, C.submitted_at >= since)
                .order_by(C.submitted_at)
                .limit(PER_NUMBER)
            )
            reports = await session.execute(
                select(P.provider_id, P.received_at)
                .where(P.provider == "cmpp", P.recipient == phone, P.received_at >= since)
                .order_by(P.received_at)
                .limit(PER_NUMBER)
            )
            return [_submitted(r) for r in submits], [(r[0], aware(r[1])) for r in reports]

    async def heard(self, phone: str, msg_id: str) -> None:
        """Nothing: the receipt sink parks the report with its number."""


def _submitted(row: Row[Any]) -> Submitted:
    key, phone, at, ids = row
    return Submitted(str(key), str(phone), aware(at), tuple((ids or "").split()))
