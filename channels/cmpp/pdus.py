"""CMPP 2.0 message PDUs: SUBMIT(_RESP), DELIVER(_RESP) and the status report.

Pure codecs, no I/O. Field widths follow the specification (docs/cmpp.md);
a body too short for its declared lengths is a :class:`ProtocolError`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import datetime

from channels.cmpp.protocol import ProtocolError, need, octets, text

#: Msg_Fmt values.
FMT_ASCII, FMT_BINARY, FMT_UCS2, FMT_GB = 0, 4, 8, 15
MAX_DESTS = 99  # DestUsr_tl "< 100"

SUBMIT_HEAD = struct.Struct(">QBBBB10sB21sBBB6s2s6s17s17s21sB")  # 117 bytes
RESP = struct.Struct(">QB")  # SUBMIT_RESP and DELIVER_RESP: Msg_Id, Result (9 bytes)
DELIVER_HEAD = struct.Struct(">Q21s10sBBB21sBB")  # 65 bytes
REPORT = struct.Struct(">Q7s10s10s21sI")  # 60 bytes
RESERVE = 8


class SubmitResult:
    """CMPP_SUBMIT_RESP Result values (CMPP 2.0)."""

    OK = 0
    BAD_STRUCTURE = 1
    BAD_COMMAND = 2
    DUPLICATE_SEQUENCE = 3
    BAD_LENGTH = 4
    BAD_FEE_CODE = 5
    TOO_LONG = 6
    BAD_SERVICE_ID = 7
    FLOW_CONTROL = 8
    OTHER = 9


@dataclass(frozen=True, slots=True)
class Submit:
    """CMPP_SUBMIT: one short message (one segment of a long one) to ``dests``."""

    dests: tuple[str, ...]
    content: bytes
    msg_src: str
    src_id: str
    service_id: str = ""
    msg_fmt: int = FMT_UCS2
    pk_total: int = 1
    pk_number: int = 1
    udhi: int = 0
    registered_delivery: int = 1
    msg_level: int = 0
    fee_user_type: int = 2  # 2: neither party is charged (SP's own notices)
    fee_terminal_id: str = ""
    tp_pid: int = 0
    fee_type: str = "01"  # 01: free
    fee_code: str = "000000"
    valid_time: str = ""
    at_time: str = ""
    msg_id: int = 0  # filled in by the gateway

    def pack(self) -> bytes:
        if not 1 <= len(self.dests) <= MAX_DESTS or len(self.content) > 255:
            raise ValueError("a SUBMIT takes 1..99 numbers and at most 255 bytes")
        head = SUBMIT_HEAD.pack(
            self.msg_id,
            self.pk_total,
            self.pk_number,
            self.registered_delivery,
            self.msg_level,
            octets(self.service_id, 10),
            self.fee_user_type,
            octets(self.fee_terminal_id, 21),
            self.tp_pid,
            self.udhi,
            self.msg_fmt,
            octets(self.msg_src, 6),
            octets(self.fee_type, 2),
            octets(self.fee_code, 6),
            octets(self.valid_time, 17),
            octets(self.at_time, 17),
            octets(self.src_id, 21),
            len(self.dests),
        )
        dests = b"".join(octets(d, 21) for d in self.dests)
        return head + dests + bytes([len(self.content)]) + self.content + b"\0" * RESERVE

    @classmethod
    def unpack(cls, body: bytes) -> Submit:
        need(body, SUBMIT_HEAD.size, "SUBMIT")
        f = SUBMIT_HEAD.unpack_from(body)
        count = f[17]
        at = SUBMIT_HEAD.size
        need(body, at + 21 * count + 1, "SUBMIT")
        dests = tuple(text(body[at + 21 * i : at + 21 * (i + 1)]) for i in range(count))
        at += 21 * count
        size = body[at]
        need(body, at + 1 + size + RESERVE, "SUBMIT")
        if not 1 <= count <= MAX_DESTS:
            raise ProtocolError(f"DestUsr_tl {count}")
        return cls(
            dests=dests,
            content=body[at + 1 : at + 1 + size],
            msg_src=text(f[11]),
            src_id=text(f[16]),
            service_id=text(f[5]),
            msg_fmt=f[10],
            pk_total=f[1],
            pk_number=f[2],
            udhi=f[9],
            registered_delivery=f[3],
            msg_level=f[4],
            fee_user_type=f[6],
            fee_terminal_id=text(f[7]),
            tp_pid=f[8],
            fee_type=text(f[12]),
            fee_code=text(f[13]),
            valid_time=text(f[14]),
            at_time=text(f[15]),
            msg_id=f[0],
        )


@dataclass(frozen=True, slots=True)
class Resp:
    """CMPP_SUBMIT_RESP / CMPP_DELIVER_RESP: the Msg_Id and a Result byte."""

    msg_id: int
    result: int

    def pack(self) -> bytes:
        return RESP.pack(self.msg_id, self.result)

    @classmethod
    def unpack(cls, body: bytes) -> Resp:
        need(body, RESP.size, "RESP")
        return cls(*RESP.unpack_from(body))


@dataclass(frozen=True, slots=True)
class Report:
    """The status report a DELIVER carries when Registered_Delivery is 1 (60 bytes)."""

    msg_id: int
    stat: str  # DELIVRD, EXPIRED, DELETED, UNDELIV, ACCEPTD, UNKNOWN, REJECTD
    submit_time: str  # YYMMDDHHMM
    done_time: str
    dest: str
    smsc_sequence: int = 0

    @property
    def delivered(self) -> bool:
        return self.stat == "DELIVRD"

    def pack(self) -> bytes:
        return REPORT.pack(
            self.msg_id,
            octets(self.stat, 7),
            octets(self.submit_time, 10),
            octets(self.done_time, 10),
            octets(self.dest, 21),
            self.smsc_sequence,
        )

    @classmethod
    def unpack(cls, raw: bytes) -> Report:
        need(raw, REPORT.size, "report")
        msg_id, stat, sub, done, dest, seq = REPORT.unpack_from(raw)
        return cls(msg_id, text(stat), text(sub), text(done), text(dest), seq)


@dataclass(frozen=True, slots=True)
class Deliver:
    """CMPP_DELIVER: a resident's message (MO) or, with ``registered_delivery`` 1, a report."""

    msg_id: int
    dest_id: str  # our access number (MO) / the SP's code
    src_terminal_id: str  # the resident's number (MO) / the number the report is about
    content: bytes
    service_id: str = ""
    msg_fmt: int = FMT_UCS2
    udhi: int = 0
    tp_pid: int = 0
    registered_delivery: int = 0
    report: Report | None = field(default=None, compare=False)

    @classmethod
    def of_report(cls, msg_id: int, dest_id: str, report: Report) -> Deliver:
        return cls(msg_id, dest_id, report.dest, report.pack(), msg_fmt=0, registered_delivery=1)

    def pack(self) -> bytes:
        if len(self.content) > 255:
            raise ValueError("a DELIVER holds at most 255 bytes")
        head = DELIVER_HEAD.pack(
            self.msg_id,
            octets(self.dest_id, 21),
            octets(self.service_id, 10),
            self.tp_pid,
            self.udhi,
            self.msg_fmt,
            octets(self.src_terminal_id, 21),
            self.registered_delivery,
            len(self.content),
        )
        return head + self.content + b"\0" * RESERVE

    @classmethod
    def unpack(cls, body: bytes) -> Deliver:
        need(body, DELIVER_HEAD.size, "DELIVER")
        msg_id, dest, service, pid, udhi, fmt, src, reg, size = DELIVER_HEAD.unpack_from(body)
        need(body, DELIVER_HEAD.size + size + RESERVE, "DELIVER")
        content = body[DELIVER_HEAD.size : DELIVER_HEAD.size + size]
        report = Report.unpack(content) if reg == 1 else None
        return cls(
            msg_id, text(dest), text(src), content, text(service), fmt, udhi, pid, reg, report
        )


def make_msg_id(now: datetime, gateway: int, sequence: int) -> int:
    """A gateway's 64-bit Msg_Id: month 4, day 5, hour 5, minute 6, second 6 bits,
    gateway code 22 bits, sequence 16 bits."""
    value = now.month
    for part, bits in (
        (now.day, 5),
        (now.hour, 5),
        (now.minute, 6),
        (now.second, 6),
        (gateway & 0x3FFFFF, 22),
        (sequence & 0xFFFF, 16),
    ):
        value = (value << bits) | part
    return value
