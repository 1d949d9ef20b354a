"""What was submitted, kept where every worker (and a worker's heir) can read it.

A SUBMIT unanswered when the link dropped, or sent by a worker killed before it
recorded the answer, has an unknown outcome; its status report may arrive on any
worker's link. Memory and Redis are lost with a killed worker or a restarted
Redis, so the record lives in the database (pusher implements :class:`Ledger`;
:class:`MemoryLedger` serves one process: tests, ``send-test``):

* :meth:`Ledger.submitting` records each message's key, number and time
  **before** its first SUBMIT is written;
* :meth:`Ledger.taken` adds the Msg_Ids the gateway answered (every segment's);
* :meth:`Ledger.withdrawn` forgets messages that were refused or never written;
* a status report no message of the receiving process claims is parked with its
  number (pusher: the receipt sink parks it with ``Receipt.recipient``;
  in memory: :meth:`MemoryLedger.heard`), and :meth:`Ledger.to_numbers` lists,
  for each number asked about, the submits and the parked reports since a time
  (every number of a look-up at once: a dropped link leaves a whole window of
  unknown outcomes).

:func:`settle` decides a message of unknown outcome from that record (see its doc).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Protocol

#: How many submits and parked reports the in-memory ledger keeps.
CAPACITY = 100_000


@dataclass(frozen=True, slots=True)
class Submitted:
    """One message as recorded before its SUBMIT: its Msg_Ids once answered (first
    segment first; empty while no answer is known)."""

    key: str
    phone: str
    at: datetime
    msg_ids: tuple[str, ...] = ()


#: What the ledger knows of one number: its submits, and its parked reports (Msg_Id, when).
ToNumber = tuple[list[Submitted], list[tuple[str, datetime]]]


class Ledger(Protocol):
    """The shared record of CMPP submits (see the module doc)."""

    async def submitting(self, messages: Sequence[tuple[str, str]]) -> None:
        """``(key, phone)`` pairs about to be submitted now (a resend starts afresh)."""

    async def taken(self, msg_ids: Mapping[str, Sequence[str]]) -> None:
        """The gateway's Msg_Ids for these keys (first segment first)."""

    async def withdrawn(self, keys: Sequence[str]) -> None:
        """These keys were refused or never written: nothing of theirs is in flight."""

    async def submitted(self, keys: Sequence[str]) -> dict[str, Submitted]:
        """The records of these keys (a key never submitted is missing)."""

    async def to_numbers(self, since: Mapping[str, datetime]) -> dict[str, ToNumber]:
        """For each number, the submits to it since its time (oldest first), and the
        reports parked for it since then with no delivery of theirs known (Msg_Id, when
        heard, oldest first); every number asked about is in the answer."""

    async def heard(self, phone: str, msg_id: str) -> None:
        """A report no message of this process claims (a database ledger needs nothing:
        the receipt sink parks it with its number)."""


class Settled(Enum):
    SENT = "sent"  # a Msg_Id or a report says the gateway took it
    WAITING = "waiting"  # within the settle window: ask again later
    NOT_SENT = "not_sent"  # never submitted, or the window passed with no report


def settle(
    me: Submitted | None,
    others: Sequence[Submitted],
    reports: Sequence[tuple[str, datetime]],
    *,
    now: datetime,
    window: timedelta,
) -> tuple[Settled, str | None]:
    """What is known of one message of unknown outcome, with its provider id if sent.

    * never recorded: its SUBMIT never went out (the record precedes it): send it;
    * a Msg_Id recorded: the gateway took it (a dead worker read the answer);
    * otherwise a parked report for the number, heard after the submit and claimed
      by no recorded Msg_Id: taken for this message only when it is the one message
      of unknown outcome to the number submitted within ``window`` of it (``others``:
      the submits to the number); with several, each waits, and once its window is
      over the oldest free reports go to the oldest messages;
    * no report: wait for the window, then send again.
    """
    if me is None:
        return Settled.NOT_SENT, None
    if me.msg_ids:
        return Settled.SENT, me.msg_ids[0]
    claimed = {m for s in others for m in s.msg_ids}
    heard = sorted(reports, key=lambda r: r[1])
    free = [pid for pid, at in heard if pid not in claimed and at >= me.at]
    # messages of unknown outcome to the number submitted within a window of this one
    rivals = [s for s in others if s.key != me.key and not s.msg_ids and abs(s.at - me.at) < window]
    unknown = sorted([me, *rivals], key=lambda s: s.at)
    if free and len(unknown) == 1:
        return Settled.SENT, free[0]
    if now - me.at < window:
        return Settled.WAITING, None
    rank = unknown.index(me)
    if rank < len(free):
        return Settled.SENT, free[rank]
    return Settled.NOT_SENT, None


class MemoryLedger:
    """One process's ledger (tests, ``send-test``); bounded, oldest first out."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clock = clock
        self._submits: OrderedDict[str, Submitted] = OrderedDict()
        self._reports: OrderedDict[str, tuple[str, datetime]] = OrderedDict()

    async def submitting(self, messages: Sequence[tuple[str, str]]) -> None:
        now = self._clock()
        for key, phone in messages:
            self._submits.pop(key, None)
            self._submits[key] = Submitted(key, phone, now)
        while len(self._submits) > CAPACITY:
            self._submits.popitem(last=False)

    async def taken(self, msg_ids: Mapping[str, Sequence[str]]) -> None:
        for key, ids in msg_ids.items():
            old = self._submits.get(key)
            if old is not None and ids:
                self._submits[key] = Submitted(key, old.phone, old.at, tuple(ids))

    async def withdrawn(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._submits.pop(key, None)

    async def submitted(self, keys: Sequence[str]) -> dict[str, Submitted]:
        return {k: self._submits[k] for k in keys if k in self._submits}

    async def to_numbers(self, since: Mapping[str, datetime]) -> dict[str, ToNumber]:
        found: dict[str, ToNumber] = {phone: ([], []) for phone in since}
        for s in self._submits.values():
            if s.phone in since and s.at >= since[s.phone]:
                found[s.phone][0].append(s)
        for pid, (phone, at) in self._reports.items():
            if phone in since and at >= since[phone]:
                found[phone][1].append((pid, at))
        return found

    async def to_number(self, phone: str, since: datetime) -> ToNumber:
        """:meth:`to_numbers` of one number."""
        return (await self.to_numbers({phone: since}))[phone]

    async def heard(self, phone: str, msg_id: str) -> None:
        self._reports[msg_id] = (phone, self._clock())
        while len(self._reports) > CAPACITY:
            self._reports.popitem(last=False)
