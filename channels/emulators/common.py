"""What every emulator shares: fault injection, a per-recipient inbox, callbacks."""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
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
class Faults(Dice):
    """Shares (0..1) of requests that go wrong, and how.

    ``server_error``: answer HTTP 500; ``timeout``: hold the request for
    ``timeout_seconds`` (longer than a client's timeout); ``throttle``: answer
    the provider's own throttling error; ``slow_seconds``: delay every answer;
    ``receipt_failure``: share of receipts that report failure;
    ``token_expiry_after``: (WeChat) tokens expire after this many calls.
    """

    server_error: float = 0.0
    timeout: float = 0.0
    throttle: float = 0.0
    slow_seconds: float = 0.0
    timeout_seconds: float = 30.0
    receipt_failure: float = 0.0
    token_expiry_after: int | None = None


@dataclass
class Inbox:
    """Counts what each recipient received, so tests can prove exactly-once."""

    messages: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, recipient: str, text: str) -> None:
        self.messages[recipient].append(text)

    def counts(self) -> Counter[str]:
        return Counter({r: len(m) for r, m in self.messages.items()})

    def total(self) -> int:
        return sum(len(m) for m in self.messages.values())


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


def fault_middleware(faults: Faults) -> Middleware:
    """Delay, hang or fail requests by the configured shares (5xx and timeouts)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if faults.slow_seconds:
            await asyncio.sleep(faults.slow_seconds)
        if faults.roll(faults.timeout):
            await asyncio.sleep(faults.timeout_seconds)
        if faults.roll(faults.server_error):
            return web.Response(status=500, text="Internal Server Error")
        return await handler(request)

    return middleware


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
            except aiohttp.ClientError:
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
    """

    async def view(request: web.Request) -> web.StreamResponse:
        return web.json_response(dict(get(request.app).messages))

    return view


def uplink_view(send: Callable[[web.Application, str, str], Awaitable[None]]) -> Handler:
    """Test/CLI hook: ``POST /emulator/uplink {"phone": …, "content": "TD"}``."""

    async def view(request: web.Request) -> web.StreamResponse:
        data = await request.json()
        await send(request.app, str(data["phone"]), str(data.get("content", "TD")))
        return web.json_response({"ok": True})

    return view
