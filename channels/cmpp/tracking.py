"""What the CMPP channel remembers between a SUBMIT and its status reports.

CMPP has no per-message query (CMPP_QUERY only counts a day's traffic), and a
message's Msg_Id is chosen by the gateway, so two things are kept in memory:

* each sent message's segments by Msg_Id: a long message has one report per
  segment; it counts as delivered when every segment's report says DELIVRD and
  as failed at the first one that does not, under the message's provider id
  (the Msg_Id of its first segment);
* messages of *unknown outcome* (a SUBMIT written but never answered): a report
  whose Msg_Id we never saw, for a number with such a message, is the gateway's
  word that it took that segment. Once each unanswered segment is matched the
  message is settled as sent; after ``settle_seconds`` without that, it is
  taken as never received (the gateway reports every message submitted with
  Registered_Delivery = 1) and may be sent again.

Both maps are bounded (oldest entries go first); a report that matches nothing
is handed on under its own Msg_Id, where the receipts store parks it.
"""

from __future__ import annotations

import contextlib
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import Enum

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
    unanswered: int = 0  # segments written but never answered, not yet matched by a report
    since: float = 0.0
    pid: str | None = None
    failed: str | None = None
    failed_at: datetime | None = None
    told: bool = False  # its receipt went out


class Settled(Enum):
    """What :meth:`Tracker.settle` knows of a message of unknown outcome."""

    SENT = "sent"  # every unanswered segment was matched by a report
    WAITING = "waiting"  # within the settle window: ask again later
    NOT_SENT = "not_sent"  # the window passed with no report: send it again
    UNKNOWN = "unknown"  # never tracked here (another process, or a restart)


@dataclass
class Tracker:
    """Segment ids → messages, and messages of unknown outcome; bounded.

    A message is tracked from before its first SUBMIT (:meth:`begin`), each
    segment's answer is noted as it comes (:meth:`answered`, :meth:`lost`,
    :meth:`refused`) so that a report racing the last answers still finds its
    message, and :meth:`finish` closes the sending (or :meth:`abandon` drops a
    refused message).
    """

    settle_seconds: float = 3600.0
    capacity: int = 200_000
    clock: Callable[[], float] = time.monotonic
    _by_id: OrderedDict[int, Track] = field(default_factory=OrderedDict)
    _unknown: OrderedDict[str, Track] = field(default_factory=OrderedDict)
    _seen: OrderedDict[int, Receipt | None] = field(default_factory=OrderedDict)
    _by_phone: dict[str, deque[Track]] = field(default_factory=dict)

    def begin(self, key: str, recipient: str, segments: int) -> Track:
        """A message about to be submitted in ``segments`` segments."""
        return Track(key, recipient, segments)

    def answered(self, track: Track, number: int, msg_id: int) -> None:
        """Segment ``number`` was taken under ``msg_id``."""
        track.sending -= 1
        track.remaining.add(msg_id)
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

    def finish(self, track: Track) -> Receipt | None:
        """Every segment has its answer; the receipt, if reports already decided it."""
        track.since = self.clock()
        if track.unanswered:
            if track.key in self._unknown:
                self._forget(track.key)
            self._unknown[track.key] = track
            self._by_phone.setdefault(track.recipient, deque()).append(track)
            self._trim()
        return self._conclude(track, None)

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
        track = self._by_id.pop(report.msg_id, None) or self._match(report)
        at = done_at(report.done_time)
        if track is None:
            return Receipt(str(report.msg_id), report.delivered, report.stat, at, report.dest)
        track.remaining.discard(report.msg_id)
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

    def _match(self, report: Report) -> Track | None:
        """The oldest message of unknown outcome to this number still owing a segment."""
        waiting = self._by_phone.get(report.dest)
        while waiting and not waiting[0].unanswered:
            waiting.popleft()  # every segment matched already
        if not waiting:
            self._by_phone.pop(report.dest, None)
            return None
        track = waiting[0]
        track.unanswered -= 1
        track.pid = track.pid or str(report.msg_id)
        track.remaining.add(report.msg_id)
        return track

    def settle(self, key: str) -> tuple[Settled, str | None]:
        """What is known of ``key``'s message of unknown outcome, with its provider id if sent."""
        track = self._unknown.get(key)
        if track is None:
            return Settled.UNKNOWN, None
        if not track.unanswered:
            self._forget(key)
            return Settled.SENT, track.pid
        if self.clock() - track.since < self.settle_seconds:
            return Settled.WAITING, None
        self._forget(key)
        for msg_id in track.remaining:
            self._by_id.pop(msg_id, None)
        return Settled.NOT_SENT, None

    def seen(self, msg_id: int) -> bool:
        """Whether a report under ``msg_id`` came before (a DELIVER sent again)."""
        return msg_id in self._seen

    def settled_elsewhere(self, key: str) -> None:
        """``key``'s message was settled from a report another process heard: forget it."""
        if key in self._unknown:
            self._forget(key)

    def _forget(self, key: str) -> None:
        """Drop a message of unknown outcome from both of its indexes."""
        track = self._unknown.pop(key)
        waiting = self._by_phone.get(track.recipient)
        if waiting is not None:
            with contextlib.suppress(ValueError):
                waiting.remove(track)
            if not waiting:
                del self._by_phone[track.recipient]

    def _trim(self) -> None:
        while len(self._by_id) > self.capacity:
            self._by_id.popitem(last=False)
        while len(self._unknown) > self.capacity:
            self._forget(next(iter(self._unknown)))
        while len(self._seen) > self.capacity:
            self._seen.popitem(last=False)

    @property
    def unknown(self) -> int:
        """How many messages of unknown outcome are held."""
        return len(self._unknown)
