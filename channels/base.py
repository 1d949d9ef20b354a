"""The small interface every channel implements.

Error hierarchy::

    ChannelError              a provider said no, or could not be reached
    ├── TransientError        not sent, try again later (5xx, connection refused,
    │   │                     throttling, busy)
    │   ├── UnknownOutcome    the request left and no answer came back (timeout, link
    │   │                     dropped mid-call): the provider may have taken it. Dispatch
    │   │                     asks the provider (``Channel.lookup``) before sending again;
    │   │                     where it cannot be asked, the resend under the same key is
    │   │                     safe only where the provider de-duplicates (WeChat's
    │   │                     client_msg_id); a provider with receipts settles it by them
    │   └── LookupFailed      the provider could not be asked about such a message: it
    │                         stays unknown and is asked again soon (never resent blind)
    └── PermanentError        do not retry for this recipient (bad number, not following,
        │                     refused): the resident's next channel is tried
        └── FatalError        the channel itself is broken (bad credentials, unapproved
                              template): stop sending on it, keep the messages, alert

Codes our own clients make up have one spelling for every provider (see
:mod:`channels.http`): ``timeout``, ``network``, ``connect``, ``bad_response``,
``http_<status>``; every other code is the provider's own.

A channel never decides about retries; it reports per recipient what happened
and the worker layer decides, by the error's type. ``send`` returns one
:class:`Outcome` per message, in the order given, and does not raise for
provider errors: a failure of the whole call (timeout, 5xx, bad signature)
becomes the same error for every message of the batch.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import ClassVar


class ChannelKind(StrEnum):
    """The ways out a resident or a group chat can be reached by."""

    WECHAT = "wechat"
    WECOM = "wecom"
    SMS = "sms"


#: The code of a look-up that could not be made: the message's fate stays unknown.
LOOKUP_FAILED = "lookup_failed"


def not_asked(key: str, error: ChannelError) -> Rejected:
    """The outcome of a look-up that failed for ``key``."""
    return Rejected(key, LookupFailed(LOOKUP_FAILED, error.message or error.code))


class ChannelError(Exception):
    """A provider refused a message or could not be reached."""

    transient: ClassVar[bool] = False

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message


class TransientError(ChannelError):
    """Worth another try later: the provider was busy, slow or throttling."""

    transient = True


class UnknownOutcome(TransientError):
    """The request may have reached the provider: ask it, or resend only where it de-dups."""


class LookupFailed(TransientError):
    """Asking the provider about a message of unknown outcome failed: ask again later."""


class PermanentError(ChannelError):
    """Will fail again: the recipient or the content is not acceptable."""


class FatalError(PermanentError):
    """The channel's configuration is wrong; every message would fail until it is fixed."""


@dataclass(frozen=True, slots=True)
class Limits:
    """What a provider accepts, declared as data so pacing and summaries can use it.

    ``batch_size`` is how many messages dispatch claims and hands to ``send`` at
    once; ``per_call`` how many recipients one provider call takes (``send`` cuts
    a batch into calls). ``rate`` is messages (or calls, see ``rate_unit``) per
    ``per_seconds``. ``max_chars``/``max_bytes`` bound one message's content.
    """

    batch_size: int
    rate: int
    per_seconds: float = 1.0
    rate_unit: str = "call"
    per_call: int = 1
    max_chars: int | None = None
    max_bytes: int | None = None
    rate_scope: str = "account"


@dataclass(frozen=True, slots=True)
class Message:
    """One message to one recipient.

    ``key`` is our delivery id as text: it goes out as the provider's
    de-duplication or correlation field (client_msg_id, OutId, SessionContext)
    and comes back in outcomes. ``text`` is what the recipient reads;
    ``params`` fills the provider's template fields where it has templates;
    ``template`` names the approved SMS template they fill (a template-mode SMS
    account, see :mod:`channels.sms_templates`), "" for the account's default.
    """

    key: str
    recipient: str
    text: str
    params: Mapping[str, str] = field(default_factory=dict)
    url: str | None = None
    title: str = ""
    template: str = ""
    #: on a look-up: when the call that may have sent it ended (aware UTC), None if unknown
    sent_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Accepted:
    """The provider took the message; ``provider_id`` correlates its receipt."""

    key: str
    provider_id: str


@dataclass(frozen=True, slots=True)
class Rejected:
    """The provider refused the message, or could not be reached."""

    key: str
    error: ChannelError


Outcome = Accepted | Rejected


@dataclass(frozen=True, slots=True)
class Receipt:
    """A provider's word on a message after it was accepted."""

    provider_id: str
    delivered: bool
    code: str
    at: datetime | None = None
    recipient: str | None = None
    key: str | None = None


@dataclass(frozen=True, slots=True)
class OptOut:
    """A recipient asked to stop receiving messages over this channel."""

    recipient: str
    reason: str


class Channel(abc.ABC):
    """Base of every channel: send a batch, parse receipts, close."""

    kind: ClassVar[ChannelKind]
    provider: ClassVar[str]
    limits: ClassVar[Limits]
    #: False when the provider never sends delivery receipts: acceptance is final.
    receipts: ClassVar[bool] = True
    #: True when ``send`` writes to our own database (the sandbox): on SQLite, whose
    #: single writer it then shares with dispatch, sends take turns with its writes.
    writes_database: ClassVar[bool] = False
    #: True when each message accepted uses up the recipient's consent to receive one
    #: (WeChat's one-time subscription notices): dispatch then clears it on record.
    spends_consent: bool = False

    @abc.abstractmethod
    async def send(self, messages: Sequence[Message]) -> list[Outcome]:
        """Send ``messages`` (at most ``limits.batch_size``); one outcome each, in order."""

    async def lookup(self, messages: Sequence[Message]) -> list[Outcome | None]:
        """Ask the provider whether messages of unknown outcome were accepted.

        ``None`` means the provider has no record (safe to send again). A message
        the provider could not be asked about is ``Rejected`` with
        :data:`LOOKUP_FAILED` (it stays unknown and is asked about later). The
        default knows nothing, which is right only for channels whose provider
        de-duplicates by ``Message.key`` itself.
        """
        return [None for _ in messages]

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Open long-lived connections (a CMPP session) before the first ``send``."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release sessions and other resources; close what ``start`` opened."""


@dataclass(frozen=True, slots=True)
class Inbound:
    """What a follower sent that is not a receipt: a follow through a QR code (``scene``,
    value the scene string), a ``text`` or recognised ``voice`` message, a menu ``click``
    (value the key) or a subscription-notice ``consent`` (value ``accept``/``reject``).
    ``account`` is our account's id, the sender of a passive reply."""

    kind: str
    sender: str
    value: str = ""
    account: str = ""


@dataclass(frozen=True, slots=True)
class CallbackBatch:
    """What one provider callback carried, and what to answer the provider."""

    receipts: list[Receipt] = field(default_factory=list)
    opt_outs: list[OptOut] = field(default_factory=list)
    #: Addresses that followed the account (again): the channel may be used for them.
    follows: list[str] = field(default_factory=list)
    #: Follows through QR codes, messages, clicks and consents (WeChat) or replies that
    #: are not commands (SMS, kind ``text``), for the residents' side to answer.
    inbound: list[Inbound] = field(default_factory=list)
    reply: bytes = b""
    content_type: str = "application/json"
