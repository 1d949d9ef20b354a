"""What every emulator shares: fault injection, a per-recipient inbox, callbacks."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web


@dataclass
class Dice:
    """A seeded coin for fault shares: :meth:`roll` is true for ``share`` of the calls."""

    seed: int | None = None
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def roll(self, share: float) -> bool:
        return share > 0 and self.rng.random() < share


@dataclass
class AcceptDrop(Dice):
    """The accept-then-drop fault, shared by the HTTP emulators and the CMPP gateway.

    ``accept_drop``: share of requests handled in full (the message recorded, its
    receipt on its way) whose answer is then lost: the connection is closed without
    a response, or the answer held past the client's timeout, half of each by the
    dice (``accept_drop_way``: ``close`` or ``hold`` to choose one). The client
    cannot tell it from a timeout: an unknown outcome.
    """

    accept_drop: float = 0.0
    accept_drop_way: str = "dice"

    def drop_by_closing(self) -> bool:
        """Which way an accepted request's answer is lost: closed (True) or held."""
        if self.accept_drop_way in ("close", "hold"):
            return self.accept_drop_way == "close"
        return self.rng.random() < 0.5


@dataclass
class Faults(AcceptDrop):
    """Shares (0..1) of requests that go wrong, and how.

    ``server_error``: answer HTTP 500; ``timeout``: hold the request for
    ``timeout_seconds`` (longer than a client's timeout); ``throttle``: answer
    the provider's own throttling error; ``slow_seconds``: delay every answer;
    ``receipt_failure``: share of receipts that report failure;
    ``token_expiry_after``: (WeChat) tokens expire after this many calls;
    ``accept_drop`` (see :class:`AcceptDrop`): a held answer waits ``timeout_seconds``;
    ``accept_dropped`` counts them.
    """

    server_error: float = 0.0
    timeout: float = 0.0
    throttle: float = 0.0
    slow_seconds: float = 0.0
    timeout_seconds: float = 30.0
    receipt_failure: float = 0.0
    token_expiry_after: int | None = None
    accept_dropped: int = 0


@dataclass
class Inbox:
    """Counts what each recipient received, so tests can prove exactly-once.

    ``first_at``/``last_at``: when the first and the last message arrived (epoch
    seconds, None while empty), so a bench can time from the last acceptance.
    """

    messages: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    first_at: float | None = None
    last_at: float | None = None

    def add(self, recipient: str, text: str) -> None:
        self.messages[recipient].append(text)
        taken = _TAKEN.get()
        if taken is not None:
            taken.append(recipient)
        self.last_at = time.time()
        if self.first_at is None:
            self.first_at = self.last_at

    def counts(self) -> Counter[str]:
        return Counter({r: len(m) for r, m in self.messages.items()})

    def total(self) -> int:
        return sum(len(m) for m in self.messages.values())


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


#: Paths of the emulator's own test hooks (inbox, uplink), never faulted.
HOOKS = "/emulator/"
#: What the request being handled put in an inbox (set by the fault middleware):
#: only a request that took a message can have its answer lost after it.
_TAKEN: ContextVar[list[str] | None] = ContextVar("emulator_taken", default=None)


def mark_taken(what: str) -> None:
    """The request being handled took something that is not an inbox message (e.g. a
    mass-message task was created): its answer may be lost too (``accept_drop``)."""
    taken = _TAKEN.get()
    if taken is not None:
        taken.append(what)


def fault_middleware(faults: Faults) -> Middleware:
    """Delay, hang or fail requests by the configured shares (5xx and timeouts); lose
    the answer of requests that put a message in the inbox (``accept_drop``). The
    test hooks are left alone.

    It also answers ``GET /emulator/faults`` on every emulator: how many answers were
    lost on purpose so far, ``{"accept_dropped": 3}``.
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == HOOKS + "faults" and request.method == "GET":
            return web.json_response({"accept_dropped": faults.accept_dropped})
        if request.path.startswith(HOOKS):
            return await handler(request)
        if faults.slow_seconds:
            await asyncio.sleep(faults.slow_seconds)
        if faults.roll(faults.timeout):
            await asyncio.sleep(faults.timeout_seconds)
        if faults.roll(faults.server_error):
            return web.Response(status=500, text="Internal Server Error")
        taken: list[str] = []
        token = _TAKEN.set(taken)
        try:
            response = await handler(request)
        finally:
            _TAKEN.reset(token)
        if taken and faults.roll(faults.accept_drop):
            await _lose_answer(request, faults)
        return response

    return middleware


async def _lose_answer(request: web.Request, faults: Faults) -> None:
    """The request was handled; its answer does not reach the client."""
    faults.accept_dropped += 1
    if faults.drop_by_closing() and request.transport is not None:
        request.transport.abort()  # the link drops: no status line ever goes out
        return
    await asyncio.sleep(faults.timeout_seconds)  # held past the client's timeout


@dataclass
class Callbacks:
    """Receipts and replies an emulator POSTs back later, retried like the provider does.

    Open it with :func:`callbacks_ctx` in the app's ``cleanup_ctx``; tests wait for
    pending posts with :meth:`drain`.
    """

    tries: int = 3
    session: aiohttp.ClientSession | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in the background, kept until it is done."""
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def post_json(self, url: str | None, payload: Any) -> None:
        """POST ``payload``; again (up to ``tries``) while it is not answered with HTTP 200."""
        if url is None or self.session is None or not payload:
            return
        for attempt in range(self.tries):
            try:
                async with self.session.post(url, json=payload) as resp:
                    await resp.read()
                    if resp.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):  # a slow answer is retried too
                pass
            await asyncio.sleep(0.2 * (attempt + 1))

    async def drain(self) -> None:
        """Wait until every pending post is done."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks))


def callbacks_ctx(
    get: Callable[[web.Application], Callbacks],
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A ``cleanup_ctx`` that opens the callbacks' HTTP session and closes it after."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        callbacks = get(app)
        callbacks.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        yield
        for task in list(callbacks.tasks):
            task.cancel()
        await asyncio.gather(*callbacks.tasks, return_exceptions=True)
        await callbacks.session.close()

    return ctx


def inbox_view(get: Callable[[web.Application], Inbox]) -> Handler:
    """``GET /emulator/inbox``: what each recipient received, the same on every emulator.

    The answer is one JSON object, HTTP 200, ``application/json``: each key a
    recipient as the provider names it (an SMS number without +86, a WeChat
    openid, a WeCom robot's webhook key), each value the list of texts it
    received, oldest first (SMS: with 【signature】; WeChat: the data values
    joined by spaces; WeCom: the content). ``{}`` when nothing arrived::

        {"13900000001": ["【青山镇】低保复核公示"], "oAbc1": ["低保复核 2026年11月22日"]}

    ``GET /emulator/inbox?summary=1`` answers instead how many messages arrived and
    when the first and the last did (epoch seconds, null while empty)::

        {"total": 2, "first_at": 1764650000.12, "last_at": 1764650001.53}
    """

    async def view(request: web.Request) -> web.StreamResponse:
        inbox = get(request.app)
        if request.query.get("summary"):
            summary = {"total": inbox.total(), "first_at": inbox.first_at, "last_at": inbox.last_at}
            return web.json_response(summary)
        return web.json_response(dict(inbox.messages))

    return view


def uplink_view(send: Callable[[web.Application, str, str], Awaitable[None]]) -> Handler:
    """Test/CLI hook: ``POST /emulator/uplink {"phone": …, "content": "TD"}``."""

    async def view(request: web.Request) -> web.StreamResponse:
        data = await request.json()
        await send(request.app, str(data["phone"]), str(data.get("content", "TD")))
        return web.json_response({"ok": True})

    return view
