"""A CMPP look-up reads the database's record of submits a fixed number of times, however
many messages of unknown outcome it settles: a dropped link leaves a whole window of
them at once. Read together, each number still gets what a read of its own gave."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import event

from channels.base import Accepted, CallbackBatch, Message, Receipt
from channels.cmpp.channel import CmppChannel, CmppSettings
from channels.emulators.cmpp import CmppGateway
from pusher.db import transaction
from pusher.models import Delivery, utcnow
from pusher.pipeline import cmpp_submits
from pusher.pipeline.cmpp_submits import DatabaseLedger
from pusher.pipeline.receipts import apply_receipts
from pusher.settings import Settings
from tests.fanout.rig import Rig, running, urgent_push

SP_ID, SECRET = "901234", "lookup-secret"


async def _ignore(batch: CallbackBatch) -> None:
    pass


async def _settled_by_reports(
    rig: Rig, channel: CmppChannel, sms: list[Delivery]
) -> tuple[int, list[Any]]:
    """Record ``sms`` as submitted with no Msg_Id, park a report for each number, and
    look them up: the statements the look-up ran, and its outcomes."""
    ledger = DatabaseLedger(rig.resources.db)
    await ledger.submitting([(str(d.id), str(d.recipient)) for d in sms])
    async with transaction(rig.resources.db) as session:
        reports = [Receipt(f"9{d.id}", True, "DELIVRD", recipient=d.recipient) for d in sms]
        await apply_receipts(session, "cmpp", reports)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    engine = rig.resources.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        outcomes = await channel.lookup([Message(str(d.id), str(d.recipient), "x") for d in sms])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements), outcomes


async def test_a_lookup_of_20_unknown_outcomes_reads_as_often_as_one_of_2(
    either_settings: Settings,
) -> None:
    gateway = CmppGateway(sp_id=SP_ID, secret=SECRET)
    _, port = await gateway.start()
    try:
        async with running(either_settings) as rig:
            push_id = await urgent_push(rig)
            by_number = {
                d.recipient: d
                for d in reversed(await rig.deliveries(push_id))
                if d.channel == "sms" and d.recipient
            }
            sms = sorted(by_number.values(), key=lambda d: d.id)[:22]  # one per number
            assert len(sms) == 22
            settings = CmppSettings(
                port=port,
                sp_id=SP_ID,
                shared_secret=SecretStr(SECRET),
                src_id="10690001",
                connect_timeout_seconds=10,
                settle_seconds=600,
            )
            channel = CmppChannel(settings, sink=_ignore, ledger=DatabaseLedger(rig.resources.db))
            await channel.start()
            try:
                few, few_outcomes = await _settled_by_reports(rig, channel, sms[:2])
                many, many_outcomes = await _settled_by_reports(rig, channel, sms[2:22])
            finally:
                await channel.close()
            found = await DatabaseLedger(rig.resources.db).submitted([str(d.id) for d in sms])
    finally:
        await gateway.close()
    # each the one unknown message to its number, with a report heard since: sent
    assert few_outcomes + many_outcomes == [Accepted(str(d.id), f"9{d.id}") for d in sms]
    assert [found[str(d.id)].msg_ids for d in sms] == [(f"9{d.id}",) for d in sms]
    assert few == many, (few, many)


async def test_each_number_is_read_since_its_own_time_and_bounded_on_its_own(
    either_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(either_settings) as rig:
        push_id = await urgent_push(rig)
        sms = [d for d in await rig.deliveries(push_id) if d.channel == "sms"][:6]
        keys = [str(d.id) for d in sms]
        assert len(keys) == 6
        ledger = DatabaseLedger(rig.resources.db)
        first = utcnow()
        await ledger.submitting([(k, "13900000111") for k in keys[:3]])
        later = utcnow()
        await ledger.submitting([(k, "13900000222") for k in keys[3:]])
        await ledger.submitting([(keys[5], "13900000111")])  # sent again, to another number
        heard = [("91", "13900000111"), ("92", "13900000222"), ("93", "13900000111")]
        async with transaction(rig.resources.db) as session:
            parked = [Receipt(pid, True, "DELIVRD", recipient=phone) for pid, phone in heard]
            await apply_receipts(session, "cmpp", parked)
        found = await ledger.to_numbers(
            {"13900000111": first, "13900000222": later, "13900000333": first}
        )
        assert [s.key for s in found["13900000111"][0]] == [*keys[:3], keys[5]]
        assert [s.key for s in found["13900000222"][0]] == keys[3:5]
        assert [pid for pid, _ in found["13900000111"][1]] == ["91", "93"]
        assert found["13900000333"] == ([], [])
        after = await ledger.to_numbers({"13900000111": later, "13900000222": utcnow()})
        assert [s.key for s in after["13900000111"][0]] == [keys[5]]
        assert after["13900000222"] == ([], [])
        monkeypatch.setattr(cmpp_submits, "PER_NUMBER", 1)  # each number's oldest only
        oldest = await ledger.to_numbers({"13900000111": first, "13900000222": first})
        assert [s.key for s in oldest["13900000111"][0]] == keys[:1]
        assert [s.key for s in oldest["13900000222"][0]] == keys[3:4]
        assert [[pid for pid, _ in r] for _, r in oldest.values()] == [["91"], ["92"]]
        monkeypatch.setattr(cmpp_submits, "NUMBERS_PER_QUERY", 1)
        assert await ledger.to_numbers({"13900000111": first, "13900000222": first}) == oldest
