"""One persistent CMPP 2.0 connection to a gateway: login, window, keep-alive, reconnect.

:class:`Session` keeps a TCP connection logged in from :meth:`Session.start` to
:meth:`Session.stop`. At most ``window`` SUBMITs wait for their SUBMIT_RESP at
once (the specification's sliding window, 16 by its advice). When the link is
idle for ``active_test_interval`` seconds an ACTIVE_TEST goes out; ``tries``
of them unanswered within ``response_timeout`` mean the link is dead. A lost
link is dialled again with exponential back-off (with jitter).

What :meth:`Session.submit` answers::

    Answered(msg_id, result)  the gateway's SUBMIT_RESP (result 0: taken)
    Unanswered(code)          written, no SUBMIT_RESP: the gateway may have taken it
                              ("timeout": none within response_timeout,
                               "network": the link dropped first)
    NotSent(code)             never written (no link: "not_connected", or the
                              gateway refused our login: "connect:<status>")

Nothing is ever re-sent here: what to do with an unanswered SUBMIT is the
channel's decision (see channels.cmpp.channel).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from channels.cmpp.link import (
    RESP_SIZES,
    Answered,
    DeliverHandler,
    LoginRefused,
    NotConnected,
    NotSent,
    Reply,
    SessionConfig,
    Unanswered,
    read_pdu,
)
from channels.cmpp.pdus import Deliver, Resp, Submit
from channels.cmpp.protocol import (
    ACTIVE_TEST_RESP_BODY,
    Command,
    Connect,
    ConnectResp,
    Header,
    ProtocolError,
    authenticator_ismg,
    encode,
)

log = logging.getLogger(__name__)
BEIJING = timezone(timedelta(hours=8))
#: A refused login (a wrong secret) is logged at most this often; the dialling backs off
#: to ``backoff_max`` between tries.
REFUSAL_LOG_SECONDS = 60.0


class Session:
    """A logged-in CMPP connection kept alive and re-dialled until :meth:`stop`."""

    def __init__(self, config: SessionConfig, *, on_deliver: DeliverHandler) -> None:
        self.config = config
        self._on_deliver = on_deliver
        self._window = asyncio.Semaphore(config.window)
        self._ready = asyncio.Event()
        self._pending: dict[int, asyncio.Future[tuple[Header, bytes]]] = {}
        self._on_answer: dict[int, Callable[[bytes], None]] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._sequence = 0
        self._last_heard = time.monotonic()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        #: the status of the last refused login (None while logins succeed)
        self.refused: int | None = None
        self.refusals = 0  # refused logins since the last successful one
        self._refusal_logged: float | None = None
        self.logins = 0
        #: DELIVERs left unanswered because the sink was behind (the gateway resends them)
        self.deliveries_deferred = 0

    @property
    def connected(self) -> bool:
        return self._ready.is_set()

    async def start(self) -> None:
        """Begin dialling; returns at once (use :meth:`wait_ready` to wait for a login)."""
        if self._task is None:
            self._stopping = False
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def wait_ready(self, seconds: float) -> bool:
        """True once logged in, False after ``seconds`` without a login."""
        if self._ready.is_set():
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), seconds)
        return self._ready.is_set()

    async def stop(self, *, grace: float = 5.0) -> None:
        """Wait (up to ``grace``) for answers in flight, say TERMINATE, close the link."""
        self._stopping = True
        if self._pending:
            await asyncio.wait(list(self._pending.values()), timeout=grace)
        if self._ready.is_set():
            with contextlib.suppress(Exception):
                await self._request(Command.TERMINATE, b"", within=min(grace, 2.0))
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def submit(
        self,
        pdu: Submit,
        *,
        on_taken: Callable[[int], None] | None = None,
        on_written: Callable[[], None] | None = None,
    ) -> Reply:
        """Send one SUBMIT within the window and wait for its answer (see the module doc).

        ``on_taken(msg_id)`` runs when a SUBMIT_RESP with Result 0 is read, before any
        later PDU is: a status report, which the gateway sends after its answer, finds
        what ``on_taken`` recorded. ``on_written()`` runs once the SUBMIT is written.
        """

        def taken(body: bytes) -> None:
            resp = Resp.unpack(body)
            if resp.result == 0 and on_taken is not None:
                on_taken(resp.msg_id)

        # Wait for a link outside the window (every caller waits at once, not 16 at a
        # time); inside it, only for what is left of the same connect timeout.
        deadline = time.monotonic() + self.config.connect_timeout
        await self.wait_ready(self.config.connect_timeout)
        async with self._window:
            if not await self.wait_ready(max(deadline - time.monotonic(), 0.0)):
                code = f"connect:{self.refused}" if self.refused is not None else "not_connected"
                return NotSent(code)
            try:
                _, body = await self._request(
                    Command.SUBMIT, pdu.pack(), on_answer=taken, on_written=on_written
                )
            except NotConnected:
                return NotSent("not_connected")
            except TimeoutError:
                return Unanswered("timeout")
            except ConnectionError:
                return Unanswered("network")
            resp = Resp.unpack(body)
            return Answered(resp.msg_id, resp.result)

    # --- the connection -------------------------------------------------------

    def _next_sequence(self) -> int:
        self._sequence = self._sequence % 0xFFFFFFFF + 1
        return self._sequence

    async def _request(
        self,
        command: int,
        body: bytes,
        *,
        within: float | None = None,
        on_answer: Callable[[bytes], None] | None = None,
        on_written: Callable[[], None] | None = None,
    ) -> tuple[Header, bytes]:
        """Write a request and wait for the response with its Sequence_Id
        (``on_answer`` runs in the reader, as the response is read)."""
        writer = self._writer
        if writer is None or not self._ready.is_set():
            raise NotConnected("not connected")
        sequence = self._next_sequence()
        future: asyncio.Future[tuple[Header, bytes]] = asyncio.get_running_loop().create_future()
        self._pending[sequence] = future
        if on_answer is not None:
            self._on_answer[sequence] = on_answer
        try:
            writer.write(encode(command, sequence, body))
            if on_written is not None:
                on_written()
            return await asyncio.wait_for(future, within or self.config.response_timeout)
        finally:
            self._pending.pop(sequence, None)
            self._on_answer.pop(sequence, None)

    async def _run(self) -> None:
        delay = self.config.backoff_min
        while not self._stopping:
            try:
                await self._connect_and_serve()
                delay = self.config.backoff_min
            except LoginRefused as exc:
                self._note_refusal(exc.status, delay)
            except (OSError, EOFError, ProtocolError, TimeoutError) as exc:
                log.warning("cmpp link lost: %r", exc)
            finally:
                self._drop_link()
            if self._stopping:
                break
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))  # jitter, not secrecy
            delay = min(delay * 2, self.config.backoff_max)

    def _note_refusal(self, status: int, delay: float) -> None:
        """Count a refused login; log it at most once per REFUSAL_LOG_SECONDS."""
        self.refused, self.refusals = status, self.refusals + 1
        now = time.monotonic()
        if self._refusal_logged is not None and now - self._refusal_logged < REFUSAL_LOG_SECONDS:
            return
        self._refusal_logged = now
        log.warning(
            "cmpp login refused: status %d (%d refused so far; next try in about %.0f s, "
            "then at most every %.0f s)",
            status,
            self.refusals,
            delay,
            self.config.backoff_max,
        )

    def _drop_link(self) -> None:
        self._ready.clear()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("link lost"))
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    async def _connect_and_serve(self) -> None:
        c = self.config
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(c.host, c.port), c.connect_timeout
        )
        self._writer = writer
        await self._login(reader, writer)
        self.refused, self.logins = None, self.logins + 1
        self.refusals, self._refusal_logged = 0, None
        self._last_heard = time.monotonic()
        self._ready.set()
        delivers: asyncio.Queue[tuple[int, Deliver]] = asyncio.Queue(maxsize=1000)
        tasks = [
            asyncio.create_task(self._read(reader, writer, delivers)),
            asyncio.create_task(self._keep_alive()),
            asyncio.create_task(self._hand_over(writer, delivers)),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # raises what ended the link
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _login(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        c = self.config
        connect = Connect.login(c.source_addr, c.secret, datetime.now(BEIJING))
        writer.write(encode(Command.CONNECT, self._next_sequence(), connect.pack()))
        header, body = await asyncio.wait_for(read_pdu(reader), c.response_timeout)
        if header.command != Command.CONNECT_RESP:
            raise ProtocolError(f"expected CONNECT_RESP, got {header.command:#x}")
        resp = ConnectResp.unpack(body)
        if resp.status != 0:
            raise LoginRefused(resp.status)
        if resp.authenticator != authenticator_ismg(0, connect.authenticator, c.secret):
            raise ProtocolError("the gateway's AuthenticatorISMG does not match our secret")

    async def _read(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        delivers: asyncio.Queue[tuple[int, Deliver]],
    ) -> None:
        while True:
            header, body = await read_pdu(reader)
            self._last_heard = time.monotonic()
            if header.command & 0x80000000:
                if len(body) < RESP_SIZES.get(header.command, 0):
                    raise ProtocolError(f"{header.command:#x} with a {len(body)}-byte body")
                future = self._pending.get(header.sequence)
                if future is not None and not future.done():
                    hook = self._on_answer.pop(header.sequence, None)
                    if hook is not None:
                        hook(body)
                    future.set_result((header, body))
            elif header.command == Command.DELIVER:
                deliver = Deliver.unpack(body)
                try:
                    delivers.put_nowait((header.sequence, deliver))
                except asyncio.QueueFull:
                    # never stall the SUBMIT_RESPs behind a slow sink: left unanswered,
                    # the DELIVER comes again from the gateway
                    self.deliveries_deferred += 1
            elif header.command == Command.ACTIVE_TEST:
                writer.write(
                    encode(Command.ACTIVE_TEST_RESP, header.sequence, ACTIVE_TEST_RESP_BODY)
                )
            elif header.command == Command.TERMINATE:
                writer.write(encode(Command.TERMINATE_RESP, header.sequence))
                raise EOFError("the gateway ended the session")
            else:
                log.info("cmpp: ignored command %#x", header.command)

    async def _keep_alive(self) -> None:
        c = self.config
        while True:
            idle = time.monotonic() - self._last_heard
            if idle < c.active_test_interval:
                await asyncio.sleep(c.active_test_interval - idle)
                continue
            for _ in range(c.active_test_tries):
                with contextlib.suppress(TimeoutError):
                    await self._request(Command.ACTIVE_TEST, b"")
                    break
            else:
                raise TimeoutError(f"{c.active_test_tries} ACTIVE_TESTs unanswered")
            self._last_heard = time.monotonic()

    async def _hand_over(
        self, writer: asyncio.StreamWriter, delivers: asyncio.Queue[tuple[int, Deliver]]
    ) -> None:
        """Give DELIVERs to the handler in batches; answer them only once it took them
        (a DELIVER left unanswered is sent again by the gateway)."""
        while True:
            batch = [await delivers.get()]
            while not delivers.empty() and len(batch) < 200:
                batch.append(delivers.get_nowait())
            try:
                await self._on_deliver([d for _, d in batch])
            except Exception:
                log.exception(
                    "cmpp: the receipt sink failed; %d DELIVERs left unanswered", len(batch)
                )
                continue
            for sequence, deliver in batch:
                writer.write(encode(Command.DELIVER_RESP, sequence, Resp(deliver.msg_id, 0).pack()))
