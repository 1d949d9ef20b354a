"""What the CMPP channel remembers between SUBMIT and report (pure, no network)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from channels.cmpp.pdus import Report
from channels.cmpp.tracking import Track, Tracker


def sent(tracker: Tracker, key: str, phone: str, ids: list[int], unanswered: int) -> Track:
    """A message whose segments were answered with ``ids``, then ``unanswered`` more."""
    track = tracker.begin(key, phone, len(ids) + unanswered)
    for number, msg_id in enumerate(ids, start=1):
        tracker.answered(track, number, msg_id)
    for _ in range(unanswered):
        tracker.lost(track)
    assert tracker.finish(track) == []
    return track


def report(msg_id: int, phone: str = "13900000001", stat: str = "DELIVRD") -> Report:
    return Report(msg_id, stat, "2612061521", "2612061522", phone)


def test_a_long_message_is_delivered_after_its_last_segment() -> None:
    tracker = Tracker()
    sent(tracker, "k1", "13900000001", [11, 12, 13], 0)
    assert tracker.report(report(12)) is None
    assert tracker.report(report(11)) is None
    last = tracker.report(report(13))
    assert last is not None and (last.provider_id, last.delivered, last.key) == ("11", True, "k1")
    assert last.at == datetime(2026, 12, 6, 15, 22, tzinfo=timezone(timedelta(hours=8)))


def test_a_long_message_fails_at_its_first_failed_segment_once() -> None:
    tracker = Tracker()
    sent(tracker, "k1", "13900000001", [11, 12], 0)
    failed = tracker.report(report(12, stat="UNDELIV"))
    assert failed is not None and (failed.provider_id, failed.delivered) == ("11", False)
    assert tracker.report(report(11)) is None  # no second word on the same message


def test_an_unmatched_report_passes_under_its_own_id() -> None:
    receipt = Tracker().report(report(99, phone="13900000009"))
    assert receipt is not None and (receipt.provider_id, receipt.key) == ("99", None)


def test_an_unknown_outcome_is_left_to_the_ledger_with_its_reports_so_far() -> None:
    tracker = Tracker()
    track = tracker.begin("k1", "13900000001", 2)
    tracker.answered(track, 1, 7)
    assert tracker.report(report(7)) is None  # segment 2 still being sent
    tracker.lost(track)  # segment 2 never answered
    [held] = tracker.finish(track)  # segment 1's report comes back under its own id
    assert (held.provider_id, held.key, held.recipient) == ("7", None, "13900000001")
    assert track.msg_ids == ["7"]
    # a report arriving now matches nothing of it: it passes under its own id
    late = tracker.report(report(8))
    assert late is not None and late.key is None


def test_memory_is_bounded() -> None:
    tracker = Tracker(capacity=100)
    for i in range(1000):
        sent(tracker, f"k{i}", f"139{i:08d}", [i * 2], 1)
        tracker.report(report(10_000 + i, phone="13800000000"))
    assert len(tracker._by_id) <= 100
    assert len(tracker._seen) <= 100


def test_a_report_before_the_last_answer_waits_for_it() -> None:
    tracker = Tracker()
    track = tracker.begin("k1", "13900000001", 2)
    tracker.answered(track, 1, 11)
    assert tracker.report(report(11)) is None  # segment 2 is still being sent
    tracker.answered(track, 2, 12)
    assert tracker.finish(track) == []
    last = tracker.report(report(12))
    assert last is not None and (last.provider_id, last.key, last.delivered) == ("11", "k1", True)


def test_a_failure_reported_while_sending_comes_out_at_the_finish() -> None:
    tracker = Tracker()
    track = tracker.begin("k1", "13900000001", 2)
    tracker.answered(track, 2, 12)
    assert tracker.report(report(12, stat="EXPIRED")) is None
    tracker.answered(track, 1, 11)
    [failed] = tracker.finish(track)
    assert (failed.provider_id, failed.code) == ("11", "EXPIRED")
    assert tracker.report(report(11)) is None
