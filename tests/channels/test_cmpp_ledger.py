"""How a CMPP message of unknown outcome is settled from the shared record (pure, no network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from channels.cmpp.ledger import MemoryLedger, Settled, Submitted, settle

T0 = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
WINDOW = timedelta(seconds=60)
PHONE = "13900000001"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_never_recorded_means_never_submitted_and_a_recorded_msg_id_means_taken() -> None:
    assert settle(None, [], [], now=at(0), window=WINDOW) == (Settled.NOT_SENT, None)
    me = Submitted("k1", PHONE, at(0), ("77", "78"))
    assert settle(me, [me], [], now=at(1), window=WINDOW) == (Settled.SENT, "77")


def test_one_unknown_submit_to_a_number_takes_the_report_heard_for_it() -> None:
    me = Submitted("k1", PHONE, at(0))
    assert settle(me, [me], [], now=at(5), window=WINDOW) == (Settled.WAITING, None)
    assert settle(me, [me], [("40", at(2))], now=at(5), window=WINDOW) == (Settled.SENT, "40")
    # a report heard before the submit is an earlier message's
    assert settle(me, [me], [("39", at(-1))], now=at(5), window=WINDOW) == (Settled.WAITING, None)
    # after the window with no report: send it again
    assert settle(me, [me], [], now=at(60), window=WINDOW) == (Settled.NOT_SENT, None)


def test_a_report_claimed_by_a_recorded_msg_id_settles_nothing_else() -> None:
    me = Submitted("k1", PHONE, at(0))
    known = Submitted("k2", PHONE, at(1), ("40",))  # its own report, parked before its record
    state = settle(me, [me, known], [("40", at(2))], now=at(5), window=WINDOW)
    assert state == (Settled.WAITING, None)


def test_two_unknown_submits_to_one_number_wait_then_the_oldest_takes_the_report() -> None:
    first, second = Submitted("k1", PHONE, at(0)), Submitted("k2", PHONE, at(1))
    both, report = [first, second], [("40", at(3))]
    # within the window neither takes a report that may be the other's
    assert settle(first, both, report, now=at(5), window=WINDOW) == (Settled.WAITING, None)
    assert settle(second, both, report, now=at(5), window=WINDOW) == (Settled.WAITING, None)
    # once the window is over, the oldest report goes to the oldest message
    assert settle(first, both, report, now=at(61), window=WINDOW) == (Settled.SENT, "40")
    assert settle(second, both, report, now=at(61), window=WINDOW) == (Settled.NOT_SENT, None)
    # two reports: each message has one
    two = [*report, ("41", at(4))]
    assert settle(second, both, two, now=at(61), window=WINDOW) == (Settled.SENT, "41")


def test_a_rival_outside_the_window_or_already_answered_does_not_block() -> None:
    me = Submitted("k2", PHONE, at(100))
    stale = Submitted("k1", PHONE, at(0))  # unknown, but its window is long over
    answered = Submitted("k3", PHONE, at(99), ("50",))
    others = [stale, answered, me]
    state = settle(me, others, [("60", at(101))], now=at(102), window=WINDOW)
    assert state == (Settled.SENT, "60")


async def test_the_memory_ledger_keeps_submits_ids_and_reports_by_number() -> None:
    now = [at(0)]
    ledger = MemoryLedger(clock=lambda: now[0])
    await ledger.submitting([("k1", PHONE), ("k2", "13900000002"), ("k3", PHONE)])
    await ledger.taken({"k2": ["9", "10"]})
    await ledger.withdrawn(["k3"])
    now[0] = at(1)
    await ledger.heard(PHONE, "40")
    found = await ledger.submitted(["k1", "k2", "k3"])
    assert set(found) == {"k1", "k2"} and found["k2"].msg_ids == ("9", "10")
    submits, reports = await ledger.to_number(PHONE, at(0))
    assert [s.key for s in submits] == ["k1"] and reports == [("40", at(1))]
    await ledger.submitting([("k1", PHONE)])  # sent again: a fresh record
    assert (await ledger.submitted(["k1"]))["k1"].at == at(1)
