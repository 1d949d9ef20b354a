"""The CMPP 2.0 SMS channel: a carrier gateway over one persistent connection.

``send`` cuts each message into UCS2 segments (UDHI for long ones), submits
every segment within the session's window and returns one outcome per message:
``Accepted`` with the first segment's Msg_Id (decimal) when every segment was
taken. Status reports and residents' replies (DELIVER) go to the ``sink`` given
at construction as :class:`~channels.base.CallbackBatch` es, as an HTTP callback's
would; there is no per-message query.

Unknown outcomes, and the rule for them: a SUBMIT written but never answered
(the link dropped, or no SUBMIT_RESP within T) is *not* re-sent by the session
or the channel. The message is reported ``Rejected`` with an
:class:`~channels.base.UnknownOutcome` (``network``/``timeout``), which dispatch
treats as an uncertain outcome and later asks :meth:`CmppChannel.lookup` about.
Every message is recorded in the shared :mod:`~channels.cmpp.ledger` (the
database in pusher) before its SUBMIT goes out, with its Msg_Ids as the answers
come, so a worker taking over a killed worker's rows, or any worker after a
Redis restart, knows what was in flight. ``lookup`` answers from that record
(:func:`~channels.cmpp.ledger.settle`): sent under a recorded Msg_Id, or under
a report for the number heard on any link (only when one message of unknown
outcome to that number is waiting), "ask again later" within ``settle_seconds``,
"not received, send again" after it or when the SUBMIT never went out. Why: the
gateway reports every message submitted with Registered_Delivery = 1, so a
report is the only proof either way; resending at once would duplicate every
message the gateway took before the link dropped (with slow acks, a whole
window of them).

Errors (``channels.cmpp.errors.CMPP``): a refused login (status 3: bad secret)
is fatal, flow control (result 8) is retried within the call then transient,
other SUBMIT results are permanent for the message.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from pydantic import BaseModel, SecretStr

from channels.base import (
    Accepted,
    CallbackBatch,
    Channel,
    ChannelKind,
    Limits,
    Message,
    OptOut,
    Outcome,
    PermanentError,
    Receipt,
    Rejected,
    TransientError,
    UnknownOutcome,
    not_asked,
)
from channels.cmpp.errors import CMPP, classify
from channels.cmpp.ledger import Ledger, MemoryLedger, Settled, Submitted, settle
from channels.cmpp.link import Answered, NotSent, Reply, SessionConfig, Unanswered
from channels.cmpp.pdus import Deliver, Submit, SubmitResult
from channels.cmpp.segments import Reassembler, Segment, decode, parse, split
from channels.cmpp.session import Session
from channels.cmpp.tracking import Track, Tracker
from channels.descriptor import Emulator, Provider, SmsMode, Wiring
from channels.sms import is_opt_out, national, replies

log = logging.getLogger(__name__)
MOBILE = re.compile(r"^1\d{10}$")
ReceiptSink = Callable[[CallbackBatch], Awaitable[None]]


class CmppSettings(BaseModel):
    """The SP account at the gateway and the protocol's timers."""

    host: str = "127.0.0.1"
    port: int = 7890
    sp_id: str = ""  # Source_Addr / Msg_src: the SP's 6-character enterprise code
    shared_secret: SecretStr = SecretStr("")
    src_id: str = ""  # the SP's access number (接入号) shown to residents, e.g. 1069…
    service_id: str = ""
    sign_name: str = ""  # put in front of every text as 【sign_name】
    window: int = 16
    response_timeout_seconds: float = 60.0
    active_test_seconds: float = 180.0
    active_test_tries: int = 3
    connect_timeout_seconds: float = 10.0
    reconnect_min_seconds: float = 1.0
    reconnect_max_seconds: float = 60.0
    settle_seconds: float = 3600.0
    flow_control_retries: int = 3

    @property
    def configured(self) -> bool:
        """True when every value a real send needs is set."""
        return bool(self.sp_id and self.shared_secret.get_secret_value() and self.src_id)

    def session(self) -> SessionConfig:
        return SessionConfig(
            host=self.host,
            port=self.port,
            source_addr=self.sp_id,
            secret=self.shared_secret.get_secret_value(),
            window=self.window,
            response_timeout=self.response_timeout_seconds,
            active_test_interval=self.active_test_seconds,
            active_test_tries=self.active_test_tries,
            connect_timeout=self.connect_timeout_seconds,
            backoff_min=self.reconnect_min_seconds,
            backoff_max=self.reconnect_max_seconds,
        )


class CmppChannel(Channel):
    """Sends SMS through a CMPP 2.0 gateway; reports and replies go to ``sink``."""

    kind: ClassVar[ChannelKind] = ChannelKind.SMS
    provider: ClassVar[str] = "cmpp"
    limits: ClassVar[Limits] = Limits(
        batch_size=200, rate=100, rate_unit="message", max_chars=500, per_call=1
    )

    def __init__(
        self, settings: CmppSettings, *, sink: ReceiptSink, ledger: Ledger | None = None
    ) -> None:
        self._settings = settings
        self._sink = sink
        self._ledger: Ledger = ledger or MemoryLedger()
        self._session = Session(settings.session(), on_deliver=self._delivered)
        self._tracker = Tracker()
        self._replies = Reassembler()
        self._refs = itertools.count(1)

    @property
    def session(self) -> Session:
        return self._session

    async def start(self) -> None:
        """Nothing yet: the connection opens at the first ``send`` or ``lookup``, so a
        process that never sends SMS (a web process, mostly) holds no link."""

    async def connect(self) -> None:
        """Open the gateway connection now (logs in in the background)."""
        await self._session.start()

    @property
    def problem(self) -> str | None:
        """Why the channel cannot send, as the console shows it (None: no known problem)."""
        if self._session.refused is None:
            return None
        return f"短信网关拒绝登录（状态 {self._session.refused}），请检查企业代码和共享密钥"

    async def close(self) -> None:
        """Let answers in flight arrive, say TERMINATE, close the connection."""
        await self._session.stop()

    async def send(self, messages: Sequence[Message]) -> list[Outcome]:
        """Submit every segment of every message; one outcome per message, in order.

        Messages go in slices of ``window``: a slice is recorded in the ledger, then
        submitted, and the next slice is recorded once every SUBMIT of this one was
        written. A killed worker so leaves at most one slice recorded but never
        written (those wait out the settle window; the rest were never recorded and
        go at once). The Msg_Ids follow in one write once every answer is in.
        """
        await self._session.start()  # the first send opens the connection
        outcomes: list[Outcome | None] = [self._refusal(m) for m in messages]
        go = [m for m, o in zip(messages, outcomes, strict=True) if o is None]
        done: dict[str, tuple[Outcome, list[str], bool]] = {}
        tasks: list[asyncio.Task[tuple[Outcome, list[str], bool]]] = []
        width = max(self._settings.window, 1)
        try:
            for start in range(0, len(go), width):
                part = go[start : start + width]
                try:
                    await self._ledger.submitting([(m.key, national(m.recipient)) for m in part])
                except Exception:
                    log.exception(
                        "cmpp: the submit ledger failed; %d messages not sent", len(go) - start
                    )
                    error = TransientError("ledger_unavailable", "提交记录写入失败，未提交")
                    done |= {m.key: (Rejected(m.key, error), [], False) for m in go[start:]}
                    break
                written = _Countdown(len(part))
                ours = [asyncio.create_task(self._send_one(m, written.tick)) for m in part]
                tasks += ours
                # the first slice waits for a link (a fresh process logs in now); later
                # ones, with no link after that, wait for one all at once
                if start == 0 or self._session.connected:
                    await written.wait_or(ours)
            for outcome, ids, gone in await asyncio.gather(*tasks):
                done[outcome.key] = (outcome, ids, gone)
        finally:
            for task in tasks:
                task.cancel()  # only those still running: send() itself was cancelled
        taken = {k: ids for k, (_, ids, _) in done.items() if ids}
        withdrawn = [k for k, (_, _, gone) in done.items() if gone]
        try:
            if taken:
                await self._ledger.taken(taken)
            if withdrawn:
                await self._ledger.withdrawn(withdrawn)
        except Exception:  # the outcomes stand; an heir settles by the reports' numbers
            log.exception("cmpp: the submit ledger failed; Msg_Ids of %d not kept", len(taken))
        return [o or done[m.key][0] for m, o in zip(messages, outcomes, strict=True)]

    async def lookup(self, messages: Sequence[Message]) -> list[Outcome | None]:
        """Settle messages of unknown outcome from the ledger (see the module doc)."""
        # a look-up is for messages sent over CMPP: be connected, so that the gateway
        # hands this process the reports it holds for a link that went away
        await self._session.start()
        window = timedelta(seconds=self._settings.settle_seconds)
        how: Counter[str] = Counter()
        try:
            records = await self._ledger.submitted([m.key for m in messages])
            # every number of a message with no Msg_Id, read at once from the earliest
            # time one of its messages needs
            since: dict[str, datetime] = {}
            for m in messages:
                me = records.get(m.key)
                if me is not None and not me.msg_ids:
                    start = me.at - window
                    since[me.phone] = min(since.get(me.phone, start), start)
            numbers = await self._ledger.to_numbers(since) if since else {}
            taken: dict[str, list[str]] = {}
            out: list[Outcome | None] = []
            for m in messages:
                me = records.get(m.key)
                others: list[Submitted] = []
                reports: list[tuple[str, datetime]] = []
                if me is not None and not me.msg_ids:
                    start = me.at - window
                    submits, parked = numbers[me.phone]
                    others = [s for s in submits if s.at >= start]
                    reports = [r for r in parked if r[1] >= start]
                state, pid = settle(me, others, reports, now=datetime.now(UTC), window=window)
                if state is Settled.SENT and pid is not None:
                    if me is not None and not me.msg_ids:  # the report is this message's now
                        taken[m.key] = [pid]
                        # the next message to the number sees the report claimed, as it
                        # would reading the ledger again
                        submits, parked = numbers[me.phone]
                        submits = [
                            replace(s, msg_ids=(pid,)) if s.key == m.key else s for s in submits
                        ]
                        numbers[me.phone] = submits, parked
                        how["by_report"] += 1
                    else:
                        how["by_msg_id"] += 1
                    out.append(Accepted(m.key, pid))
                elif state is Settled.WAITING:
                    how["waiting"] += 1
                    out.append(not_asked(m.key, TransientError("unknown_outcome", "等待状态报告")))
                else:
                    how["never_submitted" if me is None else "no_report"] += 1
                    out.append(None)
            if taken:
                await self._ledger.taken(taken)
        except Exception as exc:
            raise TransientError("ledger_unavailable", "无法读取提交记录") from exc
        if how["by_report"] or how["no_report"]:  # the rare cases worth a line
            log.info("cmpp: unknown outcomes settled", extra=dict(how))
        return out

    def text_of(self, message: Message) -> str:
        """What the resident reads: the signature, then the text."""
        sign = f"【{self._settings.sign_name}】" if self._settings.sign_name else ""
        return message.text if message.text.startswith(sign) else sign + message.text

    def _refusal(self, message: Message) -> Outcome | None:
        """Why ``message`` is refused without a SUBMIT (None: it may go)."""
        if not MOBILE.match(national(message.recipient)):
            return Rejected(message.key, PermanentError("bad_number", "号码格式错误，未提交"))
        max_chars = self.limits.max_chars or 0
        if len(self.text_of(message)) > max_chars:
            return Rejected(message.key, PermanentError("content_too_long", f"超过 {max_chars} 字"))
        return None

    async def _send_one(
        self, message: Message, written: Callable[[], None] = lambda: None
    ) -> tuple[Outcome, list[str], bool]:
        """The message's outcome, the Msg_Ids the gateway answered, and whether nothing
        of it is in flight (refused or never written). ``written()`` runs once every
        segment was written (or given up)."""
        text, phone = self.text_of(message), national(message.recipient)
        segments = split(text, ref=next(self._refs) & 0xFF)
        track = self._tracker.begin(message.key, phone, len(segments))
        all_written = _Countdown(len(segments), then=written)
        replies_ = await asyncio.gather(
            *(self._submit(phone, s, track, all_written.tick) for s in segments)
        )
        outcome = await self._outcome(track, list(replies_))
        unknown = isinstance(outcome, Rejected) and isinstance(outcome.error, UnknownOutcome)
        return outcome, track.msg_ids, isinstance(outcome, Rejected) and not unknown

    async def _submit(
        self, phone: str, segment: Segment, track: Track, written: Callable[[], None]
    ) -> Reply:
        s = self._settings
        pdu = Submit(
            dests=(phone,),
            content=segment.content,
            msg_src=s.sp_id,
            src_id=s.src_id,
            service_id=s.service_id,
            pk_total=segment.total,
            pk_number=segment.number,
            udhi=segment.udhi,
        )

        def taken(msg_id: int) -> None:
            self._tracker.answered(track, segment.number, msg_id)

        once = _Once(written)
        for attempt in range(s.flow_control_retries + 1):
            reply = await self._session.submit(pdu, on_taken=taken, on_written=once)
            once()  # never written (no link): given up, as far as the slice goes
            if not (isinstance(reply, Answered) and reply.result == SubmitResult.FLOW_CONTROL):
                break
            # refused for flow control: the gateway did not take it, so a resend is safe
            await asyncio.sleep(0.2 * 2**attempt)
        if isinstance(reply, Unanswered):
            self._tracker.lost(track)
        elif not (isinstance(reply, Answered) and reply.result == 0):
            self._tracker.refused(track)
        return reply

    async def _outcome(self, track: Track, replies_: list[Reply]) -> Outcome:
        key = track.key
        if any(isinstance(r, Unanswered) for r in replies_):
            code = next(r.code for r in replies_ if isinstance(r, Unanswered))
            await self._hand_over(self._tracker.finish(track))
            return Rejected(key, UnknownOutcome(code, "网关未应答，结果待状态报告确认"))
        refused = [r for r in replies_ if isinstance(r, Answered) and r.result != 0]
        not_sent = [r for r in replies_ if isinstance(r, NotSent)]
        if refused or not_sent:
            self._tracker.abandon(track)
            code = f"submit:{refused[0].result}" if refused else not_sent[0].code
            return Rejected(key, classify(code))
        assert track.pid is not None
        await self._hand_over(self._tracker.finish(track))
        return Accepted(key, track.pid)

    async def _hand_over(self, receipts: list[Receipt]) -> None:
        """Receipts the reports decided before the send was over (rare: fast reports)."""
        if not receipts:
            return
        for receipt in receipts:
            if receipt.key is None and receipt.recipient:
                await self._ledger.heard(national(receipt.recipient), receipt.provider_id)
        try:
            await self._sink(CallbackBatch(receipts=receipts))
        except Exception:
            log.exception("cmpp: the receipt sink failed; %d receipts lost", len(receipts))

    async def _delivered(self, delivers: list[Deliver]) -> None:
        """Turn a batch of DELIVERs into receipts, opt-outs and replies for the sink."""
        receipts: list[Receipt] = []
        pairs: list[tuple[str, str]] = []
        for d in delivers:
            if d.report is not None:
                again = self._tracker.seen(d.report.msg_id)
                receipt = self._tracker.report(d.report)
                if receipt is not None:
                    receipts.append(receipt)
                    if receipt.key is None and not again:  # no message of ours claims it
                        await self._ledger.heard(national(d.report.dest), receipt.provider_id)
                continue
            part = parse(d.content, d.udhi)
            whole = self._replies.add(d.src_terminal_id, part)
            if whole is not None:
                pairs.append((d.src_terminal_id, decode(whole, d.msg_fmt)))
        opt_outs = [OptOut(national(p), t.strip()) for p, t in pairs if is_opt_out(t)]
        batch = CallbackBatch(receipts=receipts, opt_outs=opt_outs, inbound=replies(pairs))
        if receipts or opt_outs or batch.inbound:
            await self._sink(batch)


class _Once:
    """Calls ``then`` the first time it is called."""

    def __init__(self, then: Callable[[], None]) -> None:
        self._then: Callable[[], None] | None = then

    def __call__(self) -> None:
        then, self._then = self._then, None
        if then is not None:
            then()


class _Countdown:
    """Set (and calls ``then``) after ``n`` ticks."""

    def __init__(self, n: int, then: Callable[[], None] = lambda: None) -> None:
        self._left, self._then, self._event = n, then, asyncio.Event()
        if n <= 0:
            self._finish()

    def tick(self) -> None:
        self._left -= 1
        if self._left == 0:
            self._finish()

    def _finish(self) -> None:
        self._event.set()
        self._then()

    async def wait_or(self, tasks: Sequence[asyncio.Task[Any]]) -> None:
        """Wait until set, or until every task ended (one that failed never ticks)."""
        waiter: asyncio.Future[Any] = asyncio.ensure_future(self._event.wait())
        ended: asyncio.Future[Any] = asyncio.gather(*tasks, return_exceptions=True)
        try:
            await asyncio.wait({waiter, ended}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()


def _build(settings: CmppSettings, wiring: Wiring) -> CmppChannel:
    take = wiring.receipts

    async def sink(batch: CallbackBatch) -> None:
        if take is None:  # a process that only sends (send-test): nobody to tell
            log.warning("cmpp reports not kept: no receipt sink", extra={"n": len(batch.receipts)})
            return
        await take("cmpp", batch)

    # the database's record of submits when the process has one (shared by every worker)
    return CmppChannel(settings, sink=sink, ledger=wiring.submits)


PROVIDER = Provider(
    name="cmpp",
    kind=ChannelKind.SMS,
    sms_mode=SmsMode.FREE_TEXT,
    title="短信网关（CMPP 2.0）",
    factory=_build,
    cli="cmpp",
    section="cmpp",
    settings=CmppSettings,
    required=("sp_id", "shared_secret", "src_id"),
    receipt_sink=True,  # reports and replies come over the connection, not a callback
    errors=CMPP,
    emulator=Emulator(
        "channels.emulators.cmpp",
        7890,
        {
            "host": "cmpp-emulator",
            "port": "7890",
            "sp_id": "901234",
            "shared_secret": "cmpp-secret",
            "src_id": "10690001",
        },
    ),
)
