"""What every emulator shares: fault injection and a per-recipient inbox."""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Faults:
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
    seed: int | None = None
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def roll(self, share: float) -> bool:
        return share > 0 and self.rng.random() < share


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
