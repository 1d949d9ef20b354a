"""A CMPP 2.0 gateway (ISMG) on 127.0.0.1, for tests, the demo and ``pusher emulate cmpp``.

It speaks the real protocol over TCP: checks each CONNECT's authenticator
(refusing with status 2 for an unknown SP, 3 for a wrong authenticator, 4 for
a version above 2.0), answers SUBMITs with gateway Msg_Ids, enforces the window
(a SUBMIT beyond ``window`` unanswered ones gets Result 8, flow control, and is
counted in :attr:`Stats.over_window`), reassembles long messages into
:attr:`CmppGateway.inbox`, sends a status report per segment and residents'
replies (:meth:`CmppGateway.reply`) as DELIVERs, and sends again every DELIVER
left unanswered when a link goes down. Garbled input (a Total_Length outside
12..2600, a body too short) closes that connection and is counted; the
gateway keeps serving.

Faults (:class:`GatewayFaults`): refuse every login with a status, answer
SUBMITs slowly, drop the link upon the n-th SUBMIT of the next connection
(that SUBMIT and any before it still unanswered are taken, the rest of what the
client wrote is lost), never send reports, ignore ACTIVE_TESTs, flow-control or
fail a share of SUBMITs, take a share of SUBMITs and lose their answer
(``accept_drop``: no SUBMIT_RESP, or the link cut right after taking it).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from channels.cmpp.link import read_pdu
from channels.cmpp.pdus import Deliver, Report, Resp, Submit, SubmitResult, make_msg_id
from channels.cmpp.protocol import (
    ACTIVE_TEST_RESP_BODY,
    VERSION_2_0,
    Command,
    Connect,
    ConnectResp,
    ConnectStatus,
    ProtocolError,
    authenticator_ismg,
    authenticator_source,
    encode,
)
from channels.cmpp.segments import Reassembler, decode, parse, split
from channels.emulators.cmpp_faults import GatewayFaults, Stats, faults_from
from channels.emulators.common import Faults, Inbox
from channels.emulators.options import EmulatorOptions

log = logging.getLogger(__name__)
BEIJING = timezone(timedelta(hours=8))


@dataclass(eq=False)
class _Link:
    writer: asyncio.StreamWriter
    in_flight: int = 0
    submits: int = 0
    sequence: int = 0
    unanswered: dict[int, Deliver] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def next_sequence(self) -> int:
        self.sequence = self.sequence % 0xFFFFFFFF + 1
        return self.sequence


class CmppGateway:
    """An asyncio CMPP 2.0 server; :meth:`start` it, :meth:`close` it."""

    def __init__(
        self,
        *,
        sp_id: str,
        secret: str,
        src_id: str = "10690001",
        window: int = 16,
        faults: GatewayFaults | None = None,
        report_delay: float = 0.01,
        deliver_timeout: float = 60.0,
        gateway_code: int = 0x1F2E3,
    ) -> None:
        self.sp_id, self.secret, self.src_id, self.window = sp_id, secret, src_id, window
        self.faults = faults or GatewayFaults()
        self.report_delay = report_delay
        self.deliver_timeout = deliver_timeout  # the specification's T
        self.gateway_code = gateway_code
        self.inbox = Inbox()
        self.stats = Stats()
        self.segments: list[Submit] = []
        self._parts = Reassembler()
        self._ids = itertools.count(1)
        self._links: list[_Link] = []
        #: every accepted connection, logged in or not, so close() leaves none open
        self._accepted: set[asyncio.StreamWriter] = set()
        self._waiting: list[Deliver] = []  # DELIVERs for when a link is up again
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Listen on ``host:port`` (0: a free port); returns the address bound."""
        self._server = await asyncio.start_server(self._serve, host, port)
        address = self._server.sockets[0].getsockname()
        return str(address[0]), int(address[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._accepted):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def reply(self, phone: str, text: str) -> None:
        """A resident's message (MO) to our access number, in as many DELIVERs as it needs."""
        for segment in split(text, ref=next(self._ids) & 0xFF):
            self._deliver(
                Deliver(self._msg_id(), self.src_id, phone, segment.content, udhi=segment.udhi)
            )

    def sever(self) -> None:
        """Cut every link now (as a network failure would)."""
        for link in list(self._links):
            link.writer.transport.abort()

    # --- one connection ---------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        self._accepted.add(writer)
        link = _Link(writer)
        try:
            if not await self._login(reader, link):
                return
            self._links.append(link)
            waiting, self._waiting = self._waiting, []
            for deliver in waiting:
                self._deliver(deliver)
            while True:
                header, body = await read_pdu(reader)
                await self._handle(link, header.command, header.sequence, body)
        except ProtocolError as exc:
            self.stats.garbled += 1
            log.info("cmpp emulator: garbled input, link closed: %s", exc)
        except (asyncio.IncompleteReadError, ConnectionError, _Drop):
            pass
        finally:
            await self._end(link)

    async def _end(self, link: _Link) -> None:
        if link in self._links:
            self._links.remove(link)
        for task in list(link.tasks):
            task.cancel()
        self._waiting.extend(link.unanswered.values())
        link.writer.close()
        self._accepted.discard(link.writer)
        with contextlib.suppress(Exception):
            await link.writer.wait_closed()

    async def _login(self, reader: asyncio.StreamReader, link: _Link) -> bool:
        header, body = await asyncio.wait_for(read_pdu(reader), 30)
        if header.command != Command.CONNECT:
            raise ProtocolError("the first PDU must be CONNECT")
        connect = Connect.unpack(body)
        status = self._check(connect)
        auth = authenticator_ismg(status, connect.authenticator, self.secret)
        resp = ConnectResp(status, auth, VERSION_2_0)
        link.writer.write(encode(Command.CONNECT_RESP, header.sequence, resp.pack()))
        await link.writer.drain()
        if status:
            self.stats.refused_logins += 1
            return False
        self.stats.logins += 1
        return True

    def _check(self, connect: Connect) -> int:
        if self.faults.refuse_login is not None:
            return self.faults.refuse_login
        if connect.source_addr != self.sp_id:
            return ConnectStatus.BAD_SOURCE_ADDR
        if connect.version > VERSION_2_0:
            return ConnectStatus.VERSION_TOO_HIGH
        expected = authenticator_source(self.sp_id, self.secret, connect.timestamp)
        return ConnectStatus.OK if connect.authenticator == expected else ConnectStatus.AUTH_FAILED

    async def _handle(self, link: _Link, command: int, sequence: int, body: bytes) -> None:
        if command == Command.SUBMIT:
            self._submit(link, sequence, Submit.unpack(body))
        elif command == Command.DELIVER_RESP:
            link.unanswered.pop(sequence, None)
        elif command == Command.ACTIVE_TEST_RESP:
            self.stats.active_test_answers += 1
        elif command == Command.ACTIVE_TEST:
            self.stats.active_tests += 1
            if not self.faults.ignore_active_test:
                link.writer.write(encode(Command.ACTIVE_TEST_RESP, sequence, ACTIVE_TEST_RESP_BODY))
        elif command == Command.TERMINATE:
            link.writer.write(encode(Command.TERMINATE_RESP, sequence))
            await link.writer.drain()
            raise _Drop
        elif not command & 0x80000000:
            log.info("cmpp emulator: command %#x not supported", command)

    def _submit(self, link: _Link, sequence: int, submit: Submit) -> None:
        self.stats.submits += 1
        link.submits += 1
        link.in_flight += 1
        self.stats.max_in_flight = max(self.stats.max_in_flight, link.in_flight)
        if link.in_flight > self.window:
            self.stats.over_window += 1
            self._answer(link, sequence, Resp(0, SubmitResult.FLOW_CONTROL), delay=0)
            return
        result = self._result()
        msg_id = self._msg_id() if result == 0 else 0
        if result == 0:
            self._take(submit, msg_id)
        if result == 0 and self.faults.roll(self.faults.accept_drop):
            self._lose_answer(link)
            return
        drop = self.faults.drop_after_submits
        if drop is not None and link.submits >= drop:
            self.faults.drop_after_submits = None  # once: the next link is healthy
            self.stats.dropped += 1
            link.writer.transport.abort()
            raise _Drop
        self._answer(link, sequence, Resp(msg_id, result), delay=self.faults.slow_ack_seconds)

    def _lose_answer(self, link: _Link) -> None:
        """A taken SUBMIT's answer is lost: the link is cut, or no SUBMIT_RESP ever comes."""
        self.stats.accept_dropped += 1
        link.in_flight -= 1  # the gateway is done with it; only the answer is missing
        if self.faults.drop_by_closing():
            self.stats.dropped += 1
            link.writer.transport.abort()
            raise _Drop

    def _result(self) -> int:
        if self.faults.roll(self.faults.flow_control):
            return SubmitResult.FLOW_CONTROL
        if self.faults.roll(self.faults.error):
            return SubmitResult.OTHER
        return SubmitResult.OK

    def _answer(self, link: _Link, sequence: int, resp: Resp, *, delay: float) -> None:
        def write() -> None:
            link.in_flight -= 1
            link.writer.write(encode(Command.SUBMIT_RESP, sequence, resp.pack()))

        if not delay:
            write()
            return

        async def later() -> None:
            await asyncio.sleep(delay)
            write()

        self._spawn(later(), link)

    def _take(self, submit: Submit, msg_id: int) -> None:
        """Record a taken segment, complete its message, schedule its report."""
        self.segments.append(submit)
        for phone in submit.dests:
            whole = self._parts.add(phone, parse(submit.content, submit.udhi))
            if whole is not None:
                self.inbox.add(phone, decode(whole, submit.msg_fmt))
            if submit.registered_delivery == 1 and not self.faults.no_reports:
                self._spawn(self._report_later(msg_id, phone))

    async def _report_later(self, msg_id: int, phone: str) -> None:
        await asyncio.sleep(self.report_delay)
        stat = "UNDELIV" if self.faults.roll(self.faults.report_failure) else "DELIVRD"
        stamp = datetime.now(BEIJING).strftime("%y%m%d%H%M")
        report = Report(msg_id, stat, stamp, stamp, phone, msg_id & 0xFFFF)
        self._deliver(Deliver.of_report(self._msg_id(), self.sp_id, report))
        self.stats.reports_sent += 1

    def _deliver(self, deliver: Deliver, tries: int = 3) -> None:
        """Send a DELIVER on a live link (kept until answered, sent again after
        ``deliver_timeout`` up to ``tries`` times), or keep it for the next link."""
        if not self._links:
            self._waiting.append(deliver)
            return
        link = self._links[0]
        sequence = link.next_sequence()
        link.unanswered[sequence] = deliver
        link.writer.write(encode(Command.DELIVER, sequence, deliver.pack()))

        async def again() -> None:
            await asyncio.sleep(self.deliver_timeout)
            if link.unanswered.pop(sequence, None) is not None:
                self.stats.delivers_resent += 1
                if tries > 1:
                    self._deliver(deliver, tries - 1)
                else:
                    self._waiting.append(deliver)  # for the next link

        self._spawn(again(), link)

    def active_test(self) -> None:
        """Send ACTIVE_TEST on every link (its answers are counted in the stats)."""
        for link in self._links:
            link.writer.write(encode(Command.ACTIVE_TEST, link.next_sequence()))

    def _msg_id(self) -> int:
        return make_msg_id(datetime.now(BEIJING), self.gateway_code, next(self._ids))

    def _spawn(self, work: Coroutine[Any, Any, None], link: _Link | None = None) -> None:
        task = asyncio.get_running_loop().create_task(work)
        for holder in (self._tasks, link.tasks if link else None):
            if holder is not None:
                holder.add(task)
                task.add_done_callback(holder.discard)


class _Drop(Exception):
    """End this link now."""


async def run(
    *, host: str, port: int, sp_id: str, secret: str, faults: GatewayFaults | None = None
) -> None:
    """Serve until cancelled (``pusher emulate cmpp``)."""
    gateway = CmppGateway(sp_id=sp_id, secret=secret, faults=faults)
    bound = await gateway.start(host, port)
    print(f"CMPP 2.0 gateway on {bound[0]}:{bound[1]}, SP {sp_id}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await gateway.close()


def serve(
    *,
    host: str,
    port: int,
    faults: Faults | None = None,
    sp_id: str = "901234",
    secret: str = "cmpp-secret",
) -> int:
    """Run the gateway in the foreground until interrupted; the exit status.

    ``pusher emulate cmpp`` runs it through :func:`serve_options`; the SP code and
    secret default to the ones ``.env.example`` and compose name (901234 / cmpp-secret).
    """
    gateway_faults = faults_from(faults) if faults is not None else None
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(host=host, port=port, sp_id=sp_id, secret=secret, faults=gateway_faults))
    return 0


def serve_options(options: EmulatorOptions, *, host: str, port: int) -> int:
    """``pusher emulate cmpp``: the gateway with the options' faults (TCP, not HTTP)."""
    return serve(host=host, port=port, faults=options.faults())
