"""A resident who asks to be forgotten leaves no number in the CMPP record of submits
nor in CMPP reports parked under their number."""

from __future__ import annotations

from sqlalchemy import func, select

from channels.base import Receipt
from pusher.db import transaction
from pusher.models import CmppSubmit, PendingReceipt
from pusher.pipeline.cmpp_submits import DatabaseLedger
from pusher.pipeline.lifecycle import forget_resident
from pusher.pipeline.receipts import apply_receipts
from pusher.settings import Settings
from tests.fanout.rig import running, urgent_push


async def test_forgetting_a_resident_clears_their_cmpp_submits_and_parked_reports(
    sqlite_settings: Settings,
) -> None:
    async with running(sqlite_settings, residents=20) as rig:
        push_id = await urgent_push(rig)
        sms = [d for d in await rig.deliveries(push_id) if d.channel == "sms" and d.recipient]
        mine, other = sms[0], sms[1]
        ledger = DatabaseLedger(rig.resources.db)
        await ledger.submitting([(str(d.id), str(d.recipient)) for d in (mine, other)])
        async with transaction(rig.resources.db) as session:
            early = [Receipt(f"9{d.id}", True, "DELIVRD", recipient=d.recipient) for d in sms[:2]]
            await apply_receipts(session, "cmpp", early)
        assert mine.resident_id is not None
        await forget_resident(rig.resources.db, mine.resident_id, actor="test")
        async with rig.resources.db() as session:
            submits = set(await session.scalars(select(CmppSubmit.phone)))
            parked = set(await session.scalars(select(PendingReceipt.recipient)))
            count = await session.scalar(select(func.count()).select_from(CmppSubmit))
    assert submits == parked == {other.recipient} and count == 1
