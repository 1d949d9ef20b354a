"""What the CMPP channel remembers between a SUBMIT and its status reports.

CMPP has no per-message query (CMPP_QUERY only counts a day's traffic), and a
message's Msg_Id is chosen by the gateway, so each sent message's segments are
kept in memory by Msg_Id: a long message has one report per segment; it counts
as delivered when every segment's report says DELIVRD and as failed at the
first one that does not, under the message's provider id (the Msg_Id of its
first segment).

A message with an unanswered segment (unknown outcome) is not tracked further
here: its reports pass under their own Msg_Ids, and the shared
:mod:`~channels.cmpp.ledger` settles it. The map is bounded (oldest entries go
first); a report that matches nothing is handed on under its own Msg_Id, where
the receipts store parks it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from channels.base import Receipt
from channels.cmpp.pdus import Report

BEIJING = timezone(timedelta(hours=8))


def done_at(value: str) -> datetime | None:
    """A report's Done_time (YYMMDDHHMM, Beijing time), or None when unreadable."""
    try:
        return datetime.strptime(value, "%y%m%d%H%M").replace(tzinfo=BEIJING)
    except ValueError:
        return None


@dataclass(eq=False)  # identity: two messages may look alike
class Track:
    """One message: segments still being sent, Msg_Ids still owing a report, what is known."""

    key: str
    recipient: str
    sending: int  # segments still waiting for their SUBMIT_RESP
    remaining: set[int] = field(default_factory=set)
    unanswered: int = 0  # segments written but never answered
    pid: str | None = None
    failed: str | None = None
    failed_at: datetime | None = None
    told: bool = False  # its receipt went out
    held: list[Receipt] = field(default_factory=list)  # its segments' reports so far
    answers: dict[int, int] = field(default_factory=dict)  # segment number → Msg_Id

    @property
    def msg_ids(self) -> list[str]:
        """The Msg_Ids the gateway answered, first segment first."""
        return [str(self.answers[n]) for n in sorted(self.answers)]


@dataclass
class Tracker:
    """Segment ids → messages; bounded.

    A message is tracked from before its first SUBMIT (:meth:`begin`), each
    segment's answer is noted as it comes (:meth:`answered`, :meth:`lost`,
    :meth:`refused`) so that a report racing the last answers still finds its
    message, and :meth:`finish` closes the sending (or :meth:`abandon` drops a
    refused message).
    """

    capacity: int = 200_000
    _by_id: OrderedDict[int, Track] = field(default_factory=OrderedDict)
    _seen: OrderedDict[int, Receipt | None] = field(default_factory=OrderedDict)

    def begin(self, key: str, recipient: str, segments: int) -> Track:
        """A message about to be submitted in ``segments`` segments."""
        return Track(key, recipient, segments)

    def answered(self, track: Track, number: int, msg_id: int) -> None:
        """Segment ``number`` was taken under ``msg_id``."""
        track.sending -= 1
        track.remaining.add(msg_id)
        track.answers[number] = msg_id
        self._by_id[msg_id] = track
        if number == 1 or track.pid is None:
            track.pid = str(msg_id)
        self._trim()

    def lost(self, track: Track) -> None:
        """A segment was written but never answered."""
        track.sending -= 1
        track.unanswered += 1

    def refused(self, track: Track) -> None:
        """A segment was refused or never written."""
        track.sending -= 1

    def finish(self, track: Track) -> list[Receipt]:
        """Every segment has its answer: the receipt, if reports already decided it.

        A message with an unanswered segment is dropped (the ledger settles it); the
        reports its answered segments already had come back under their own Msg_Ids,
        to be parked until the message is settled under its first one.
        """
        if track.unanswered:
            self.abandon(track)
            return list(track.held)
        receipt = self._conclude(track, None)
        return [receipt] if receipt is not None else []

    def abandon(self, track: Track) -> None:
        """Forget a message that was refused (its reports pass under their own ids)."""
        track.told = True
        for msg_id in track.remaining:
            self._by_id.pop(msg_id, None)

    def report(self, report: Report) -> Receipt | None:
        """The receipt ``report`` completes, if any (None while segments still owe one).

        The same report again (a DELIVER the gateway resent because its answer was
        lost) gives the same answer again.
        """
        if report.msg_id in self._seen:
            return self._seen[report.msg_id]
        receipt = self._receipt(report)
        self._seen[report.msg_id] = receipt
        self._trim()
        return receipt

    def _receipt(self, report: Report) -> Receipt | None:
        track = self._by_id.pop(report.msg_id, None)
        at = done_at(report.done_time)
        if track is None:
            return Receipt(str(report.msg_id), report.delivered, report.stat, at, report.dest)
        track.remaining.discard(report.msg_id)
        track.held.append(
            Receipt(str(report.msg_id), report.delivered, report.stat, at, report.dest)
        )
        if not report.delivered and track.failed is None:
            track.failed, track.failed_at = report.stat, at
        return self._conclude(track, at)

    def _conclude(self, track: Track, at: datetime | None) -> Receipt | None:
        """The message's one receipt once it is decided: failed at its first failed
        segment, delivered when every segment is answered and reported delivered."""
        if track.told or track.sending or track.pid is None:
            return None
        if track.failed is not None:
            track.told = True
            return Receipt(
                track.pid, False, track.failed, track.failed_at, track.recipient, track.key
            )
        if not track.remaining and not track.unanswered:
            track.told = True
            return Receipt(track.pid, True, "DELIVRD", at, track.recipient, track.key)
        return None

    def seen(self, msg_id: int) -> bool:
        """Whether a report under ``msg_id`` came before (a DELIVER sent again)."""
        return msg_id in self._seen

    def _trim(self) -> None:
        while len(self._by_id) > self.capacity:
            self._by_id.popitem(last=False)
        while len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
