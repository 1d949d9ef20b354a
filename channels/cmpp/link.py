"""What a CMPP session is made of: its settings, its answers, and reading one PDU.

:class:`SessionConfig` is where the gateway is, who we are, and the protocol's
timers; :data:`Reply` is what a SUBMIT comes to (see channels.cmpp.session).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from channels.cmpp.pdus import Deliver
from channels.cmpp.protocol import HEADER_SIZE, Command, Header, decode_header


async def read_pdu(reader: asyncio.StreamReader) -> tuple[Header, bytes]:
    """The next PDU off the stream; :class:`ProtocolError` when its length is out of bounds."""
    header = decode_header(await reader.readexactly(HEADER_SIZE))
    return header, await reader.readexactly(header.length - HEADER_SIZE)


#: The smallest body of each response we read (a shorter one is garbage).
RESP_SIZES: dict[int, int] = {
    Command.SUBMIT_RESP: 9,
    Command.DELIVER_RESP: 9,
    Command.CONNECT_RESP: 18,
}


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """Where the gateway is, who we are, and the protocol's timers (C, T, N)."""

    host: str
    port: int
    source_addr: str
    secret: str
    window: int = 16
    response_timeout: float = 60.0
    active_test_interval: float = 180.0
    active_test_tries: int = 3
    connect_timeout: float = 10.0
    backoff_min: float = 1.0
    backoff_max: float = 60.0


@dataclass(frozen=True, slots=True)
class Answered:
    msg_id: int
    result: int


@dataclass(frozen=True, slots=True)
class Unanswered:
    code: str


@dataclass(frozen=True, slots=True)
class NotSent:
    code: str


Reply = Answered | Unanswered | NotSent
DeliverHandler = Callable[[list[Deliver]], Awaitable[None]]


class NotConnected(ConnectionError):
    """No link to write on: nothing was sent."""


class LoginRefused(Exception):
    """The gateway answered our CONNECT with a non-zero status."""

    def __init__(self, status: int) -> None:
        super().__init__(f"CONNECT refused with status {status}")
        self.status = status
