"""Message text as UCS2 (Msg_Fmt 8) and long messages as UDHI segments.

One short message carries 140 bytes: 70 UCS2 characters, or 67 after the
6-byte user data header ``05 00 03 ref total seq`` that a long message's
segments begin with (TP_udhi = 1, Pk_total/Pk_number set the same). Text
outside the basic plane is written as UTF-16 surrogate pairs, never split
across segments. :class:`Reassembler` puts segments back together, bounded in
how many partial messages it holds and for how long.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from channels.cmpp.pdus import FMT_ASCII, FMT_GB, FMT_UCS2

SMS_BYTES = 140
UDH_SIZE = 6
MAX_SEGMENTS = 255  # Pk_total is one byte


@dataclass(frozen=True, slots=True)
class Segment:
    """One short message's content and its place in the whole."""

    content: bytes
    total: int
    number: int
    udhi: int


def udh(ref: int, total: int, number: int) -> bytes:
    """The 6-byte concatenation header: IEI 00 (8-bit reference), length 3."""
    return bytes([0x05, 0x00, 0x03, ref & 0xFF, total, number])


def _units(payload: bytes) -> list[bytes]:
    """UTF-16BE code units grouped so that a surrogate pair stays whole."""
    out: list[bytes] = []
    i = 0
    while i < len(payload):
        size = 4 if 0xD8 <= payload[i] <= 0xDB else 2
        out.append(payload[i : i + size])
        i += size
    return out


def split(message: str, *, ref: int) -> list[Segment]:
    """``message`` as UCS2 segments: one when it fits 70 characters, else 67 a piece."""
    payload = message.encode("utf-16-be")
    if len(payload) <= SMS_BYTES:
        return [Segment(payload, 1, 1, 0)]
    room = SMS_BYTES - UDH_SIZE
    pieces: list[bytes] = [b""]
    for unit in _units(payload):
        if len(pieces[-1]) + len(unit) > room:
            pieces.append(b"")
        pieces[-1] += unit
    if len(pieces) > MAX_SEGMENTS:
        raise ValueError(f"{len(pieces)} segments exceed {MAX_SEGMENTS}")
    total = len(pieces)
    return [Segment(udh(ref, total, n) + p, total, n, 1) for n, p in enumerate(pieces, start=1)]


@dataclass(frozen=True, slots=True)
class Part:
    """A received content split into its concatenation header (if any) and its text bytes."""

    ref: int | None
    total: int
    number: int
    payload: bytes


def parse(content: bytes, udhi: int) -> Part:
    """Strip a concatenation header (8- or 16-bit reference); other headers are skipped."""
    if not udhi or not content:
        return Part(None, 1, 1, content)
    size = content[0] + 1
    header, payload = content[1:size], content[size:]
    i = 0
    while i + 1 < len(header):
        iei, length = header[i], header[i + 1]
        data = header[i + 2 : i + 2 + length]
        if iei == 0x00 and length == 3 and len(data) == 3:
            return Part(data[0], data[1], data[2], payload)
        if iei == 0x08 and length == 4 and len(data) == 4:
            return Part((data[0] << 8) | data[1], data[2], data[3], payload)
        i += 2 + length
    return Part(None, 1, 1, payload)


def decode(payload: bytes, msg_fmt: int) -> str:
    """Text of a content in its Msg_Fmt (UCS2, GB18030/GBK, ASCII); bad bytes replaced."""
    if msg_fmt == FMT_UCS2:
        return payload.decode("utf-16-be", errors="replace")
    if msg_fmt == FMT_GB:
        return payload.decode("gb18030", errors="replace")
    if msg_fmt == FMT_ASCII:
        return payload.decode("ascii", errors="replace")
    return payload.decode("latin-1")


@dataclass
class Reassembler:
    """Joins segments by (sender, reference); whole messages come out of :meth:`add`.

    At most ``capacity`` partial messages are held (the stalest is dropped), each
    for at most ``ttl`` seconds after its latest segment: a peer cannot grow it
    without bound.
    """

    capacity: int = 10_000
    ttl: float = 600.0
    clock: Callable[[], float] = time.monotonic
    _parts: OrderedDict[tuple[str, int, int], tuple[float, dict[int, bytes]]] = field(
        default_factory=OrderedDict
    )
    dropped: int = 0

    def add(self, sender: str, part: Part) -> bytes | None:
        """The whole payload once every segment of ``part``'s message is in, else None."""
        if part.ref is None or part.total <= 1:
            return part.payload
        if not 1 <= part.number <= part.total:
            self.dropped += 1
            return None
        self._expire()
        key = (sender, part.ref, part.total)
        _, pieces = self._parts.pop(key, (0.0, {}))
        pieces[part.number] = part.payload
        if len(pieces) == part.total:
            return b"".join(pieces[n] for n in range(1, part.total + 1))
        self._parts[key] = (self.clock(), pieces)  # kept in order of the latest segment
        while len(self._parts) > self.capacity:
            self._parts.popitem(last=False)
            self.dropped += 1
        return None

    def _expire(self) -> None:
        cutoff = self.clock() - self.ttl
        while self._parts:
            key, (touched, _) = next(iter(self._parts.items()))
            if touched >= cutoff:
                break
            del self._parts[key]
            self.dropped += 1

    def __len__(self) -> int:
        return len(self._parts)
