"""The sandbox channel: keeps every message instead of sending it.

Used in embedded mode and the demo, it stands in for any kind of channel and
hands each batch to a sink (the pipeline stores it in the database) so the
console can show what each resident's phone would have shown.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from channels.base import Accepted, Channel, ChannelKind, Limits, Message, Outcome
from channels.descriptor import Provider, SmsMode


@dataclass(frozen=True, slots=True)
class SandboxMessage:
    """A message as the sandbox kept it."""

    kind: ChannelKind
    key: str
    recipient: str
    text: str
    provider_id: str
    at: datetime


SandboxSink = Callable[[Sequence[SandboxMessage]], Awaitable[None]]
#: Given keys, the provider ids of those already kept (a crash may leave kept-but-unrecorded).
SandboxLookup = Callable[[Sequence[str]], Awaitable[dict[str, str]]]


class SandboxChannel(Channel):
    """Accepts everything and hands it to ``sink``."""

    provider: ClassVar[str] = "sandbox"
    receipts: ClassVar[bool] = False
    writes_database: ClassVar[bool] = True  # the pipeline's sink keeps messages in it
    limits: ClassVar[Limits] = Limits(batch_size=500, rate=1000, max_chars=2000)

    def __init__(
        self, kind: ChannelKind, *, sink: SandboxSink, lookup: SandboxLookup | None = None
    ) -> None:
        self.kind = kind  # type: ignore[misc]  # the sandbox poses as the kind it replaces
        self._kind = kind
        self._sink = sink
        self._lookup = lookup

    async def lookup(self, messages: Sequence[Message]) -> list[Outcome | None]:
        """Messages the sandbox already kept count as accepted, like a provider's record."""
        if self._lookup is None:
            return [None for _ in messages]
        kept = await self._lookup([m.key for m in messages])
        return [Accepted(m.key, kept[m.key]) if m.key in kept else None for m in messages]

    async def send(self, messages: Sequence[Message]) -> list[Outcome]:
        now = datetime.now(UTC)
        kept = [
            SandboxMessage(self._kind, m.key, m.recipient, m.text, f"sbx-{self._kind}-{m.key}", now)
            for m in messages
        ]
        await self._sink(kept)
        return [Accepted(k.key, k.provider_id) for k in kept]


#: Not chosen by settings: it stands in for every kind that has no provider configured,
#: so it has no settings, factory, callbacks or emulator (its rig is the contract tests').
PROVIDER = Provider(
    name="sandbox",
    kind=None,
    title="沙箱（不发送，留存在控制台的手机收件箱）",
    sms_mode=SmsMode.FREE_TEXT,  # keeps any text it is given
)
