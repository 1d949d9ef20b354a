"""CMPP 2.0 framing: the 12-byte header, command ids, CONNECT and the small PDUs.

Every PDU is ``Total_Length`` (4) ``Command_Id`` (4) ``Sequence_Id`` (4), all
unsigned big-endian, then the body; ``Total_Length`` counts the header too.
Strings are fixed-width octet strings padded with NUL bytes. Field layouts,
status codes and their sources are in docs/cmpp.md.

Outside input is bounded: a header whose ``Total_Length`` is below 12 or above
:data:`MAX_PDU` is a :class:`ProtocolError` (the stream cannot be trusted any
further and the connection is closed), as is a body too short for its fields.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

HEADER = struct.Struct(">III")
HEADER_SIZE = HEADER.size  # 12
#: The largest PDU we accept: a SUBMIT to 99 numbers with a 255-byte content is
#: 117 + 99 * 21 + 1 + 255 + 8 + 12 = 2472 bytes; anything longer is garbage.
MAX_PDU = 2600
VERSION_2_0 = 0x20
#: The ports of the specification: long connections and short ones.
LONG_PORT, SHORT_PORT = 7890, 7900


class ProtocolError(Exception):
    """Bytes that are not a well-formed CMPP 2.0 PDU: the connection must be dropped."""


class Command(IntEnum):
    """Command_Id values (a response is its request's id with the high bit set)."""

    CONNECT = 0x00000001
    CONNECT_RESP = 0x80000001
    TERMINATE = 0x00000002
    TERMINATE_RESP = 0x80000002
    SUBMIT = 0x00000004
    SUBMIT_RESP = 0x80000004
    DELIVER = 0x00000005
    DELIVER_RESP = 0x80000005
    QUERY = 0x00000006
    QUERY_RESP = 0x80000006
    CANCEL = 0x00000007
    CANCEL_RESP = 0x80000007
    ACTIVE_TEST = 0x00000008
    ACTIVE_TEST_RESP = 0x80000008


class ConnectStatus(IntEnum):
    """CMPP_CONNECT_RESP Status (CMPP 2.0: one byte)."""

    OK = 0
    BAD_STRUCTURE = 1
    BAD_SOURCE_ADDR = 2
    AUTH_FAILED = 3
    VERSION_TOO_HIGH = 4
    OTHER = 5


@dataclass(frozen=True, slots=True)
class Header:
    """The fixed part of every PDU."""

    length: int
    command: int
    sequence: int


def encode(command: int, sequence: int, body: bytes = b"") -> bytes:
    """A whole PDU: header (with the right Total_Length) and body."""
    return HEADER.pack(HEADER_SIZE + len(body), command, sequence) + body


def decode_header(data: bytes) -> Header:
    """The header in ``data[:12]``; :class:`ProtocolError` when its length is out of bounds."""
    if len(data) < HEADER_SIZE:
        raise ProtocolError("short header")
    length, command, sequence = HEADER.unpack_from(data)
    if not HEADER_SIZE <= length <= MAX_PDU:
        raise ProtocolError(f"Total_Length {length} outside {HEADER_SIZE}..{MAX_PDU}")
    return Header(length, command, sequence)


def octets(value: str | bytes, size: int) -> bytes:
    """``value`` as a fixed-width field: cut to ``size`` bytes, padded with NULs."""
    raw = value.encode("ascii") if isinstance(value, str) else value
    return raw[:size].ljust(size, b"\0")


def text(raw: bytes) -> str:
    """A fixed-width field back as text (NUL padding removed; bytes beyond ASCII kept)."""
    return raw.split(b"\0", 1)[0].decode("latin-1")


def need(body: bytes, size: int, what: str) -> None:
    """:class:`ProtocolError` unless ``body`` holds at least ``size`` bytes."""
    if len(body) < size:
        raise ProtocolError(f"{what} body of {len(body)} bytes, needs {size}")


# --- CONNECT ---------------------------------------------------------------


def timestamp(now: datetime) -> int:
    """The login timestamp MMDDHHMMSS as the integer sent in the Timestamp field."""
    return int(now.strftime("%m%d%H%M%S"))


def authenticator_source(source_addr: str, secret: str, stamp: int) -> bytes:
    """MD5(Source_Addr + 9 NUL bytes + shared secret + timestamp as 10 digits)."""
    plain = source_addr.encode("ascii") + b"\0" * 9 + secret.encode() + f"{stamp:010d}".encode()
    return hashlib.md5(plain).digest()  # the protocol's own choice


def authenticator_ismg(status: int, source: bytes, secret: str) -> bytes:
    """The gateway's answer: MD5(Status + AuthenticatorSource + shared secret)."""
    return hashlib.md5(bytes([status]) + source + secret.encode()).digest()


CONNECT = struct.Struct(">6s16sBI")  # 27 bytes
CONNECT_RESP = struct.Struct(">B16sB")  # 18 bytes


@dataclass(frozen=True, slots=True)
class Connect:
    """CMPP_CONNECT: the SP's login."""

    source_addr: str
    authenticator: bytes
    version: int
    timestamp: int

    @classmethod
    def login(cls, source_addr: str, secret: str, now: datetime) -> Connect:
        stamp = timestamp(now)
        auth = authenticator_source(source_addr, secret, stamp)
        return cls(source_addr, auth, VERSION_2_0, stamp)

    def pack(self) -> bytes:
        return CONNECT.pack(
            octets(self.source_addr, 6), self.authenticator, self.version, self.timestamp
        )

    @classmethod
    def unpack(cls, body: bytes) -> Connect:
        need(body, CONNECT.size, "CONNECT")
        addr, auth, version, stamp = CONNECT.unpack_from(body)
        return cls(text(addr), auth, version, stamp)


@dataclass(frozen=True, slots=True)
class ConnectResp:
    """CMPP_CONNECT_RESP: the gateway's verdict on a login."""

    status: int
    authenticator: bytes
    version: int

    def pack(self) -> bytes:
        return CONNECT_RESP.pack(self.status, self.authenticator, self.version)

    @classmethod
    def unpack(cls, body: bytes) -> ConnectResp:
        need(body, CONNECT_RESP.size, "CONNECT_RESP")
        return cls(*CONNECT_RESP.unpack_from(body))


#: CMPP_ACTIVE_TEST_RESP carries one reserved byte; ACTIVE_TEST and TERMINATE(_RESP) none.
ACTIVE_TEST_RESP_BODY = b"\0"
