"""A CMPP look-up reads the ledger once for all its messages, yet a report it gives one
message is claimed for the next message to the same number, as a fresh read would show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import SecretStr

from channels.base import Accepted, CallbackBatch, Message
from channels.cmpp.channel import CmppChannel, CmppSettings
from channels.cmpp.ledger import MemoryLedger
from channels.emulators.cmpp import CmppGateway

SP, SECRET, PHONE = "901234", "claims-secret", "13900000001"


async def _ignore(batch: CallbackBatch) -> None:
    pass


async def test_a_report_taken_in_a_lookup_is_claimed_for_the_next_message_to_the_number() -> None:
    # window 10 s: "a" was submitted 12 s ago (its window is over), "b" 5 s ago (still
    # within it, and within a window of "a"); two reports heard since "b" was submitted.
    now = datetime.now(UTC)
    clock = [now - timedelta(seconds=12)]
    ledger = MemoryLedger(clock=lambda: clock[0])
    await ledger.submitting([("a", PHONE)])
    clock[0] = now - timedelta(seconds=5)
    await ledger.submitting([("b", PHONE)])
    clock[0] = now - timedelta(seconds=4)
    await ledger.heard(PHONE, "r1")
    clock[0] = now - timedelta(seconds=3)
    await ledger.heard(PHONE, "r2")
    gateway = CmppGateway(sp_id=SP, secret=SECRET)
    host, port = await gateway.start()
    settings = CmppSettings(
        host=host,
        port=port,
        sp_id=SP,
        shared_secret=SecretStr(SECRET),
        src_id="10690001",
        connect_timeout_seconds=5,
        settle_seconds=10,
    )
    channel = CmppChannel(settings, sink=_ignore, ledger=ledger)
    await channel.start()
    try:
        outcomes = await channel.lookup([Message("a", PHONE, "x"), Message("b", PHONE, "x")])
    finally:
        await channel.close()
        await gateway.close()
    # "a" is the older of two unknown messages: the oldest free report. With "a" holding
    # r1, "b" is the one unknown message to the number and r2 is free: it is "b"'s at
    # once (reading r1 as still free, "b" would wait, both still unknown).
    assert outcomes == [Accepted("a", "r1"), Accepted("b", "r2")]
    found = await ledger.submitted(["a", "b"])
    assert (found["a"].msg_ids, found["b"].msg_ids) == (("r1",), ("r2",))
