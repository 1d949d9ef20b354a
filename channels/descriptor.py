"""What the service knows of a provider, declared once in the provider's own module.

Each provider module (``channels/wechat.py``, ``wecom.py``, ``aliyun_sms.py``,
``tencent_sms.py``, ``sandbox.py``) ends with a ``PROVIDER = Provider(...)``; the
registry (:mod:`channels.registry`) lists them in one tuple, and the rest is
generated from that tuple: the settings sections (``PUSHER_<SECTION>__*``), the
callback routes, ``pusher send-test`` and ``pusher emulate`` with their choices,
compose's emulator services (checked by a test), the contract tests'
parametrization, the SMS fallback order, the error descriptions and the quota
waits.

A provider with a long-lived connection (a CMPP gateway) uses the channel's
``start``/``close`` hooks, which the service calls for every channel, and is
handed a :data:`ReceiptSink` for what arrives on that connection instead of an
HTTP callback route.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import aiohttp
from pydantic import BaseModel, SecretStr

from channels.base import CallbackBatch, Channel, ChannelKind
from channels.errors import ErrorTable
from channels.ratelimit import RateLimiter

#: Where a provider without HTTP callbacks hands what it was told: (provider, batch).
ReceiptSink = Callable[[str, CallbackBatch], Awaitable[None]]
#: Parses one callback body; ``ValueError`` (or a ``ChannelError``) when it is malformed.
BodyParser = Callable[[bytes], CallbackBatch]


class SmsMode(StrEnum):
    """What an SMS account lets us send.

    ``template``: only the provider's approved templates, with typed variables
    (commercial providers: Aliyun, Tencent); ``free_text``: any text under the
    account's signature (carrier gateways such as CMPP; the sandbox).
    """

    TEMPLATE = "template"
    FREE_TEXT = "free_text"


#: How ``pusher send-test`` and the README name each mode.
SMS_MODE_TITLES = {SmsMode.TEMPLATE: "模板短信（须使用已审核模板）", SmsMode.FREE_TEXT: "自由文本"}


@dataclass(frozen=True, slots=True)
class Wiring:
    """The shared resources a factory may use; a factory takes only what it needs."""

    http: aiohttp.ClientSession
    limiter: RateLimiter
    redis: Any | None = None
    receipts: ReceiptSink | None = None
    #: the database's record of submits, for CMPP (a channels.cmpp.ledger.Ledger)
    submits: Any | None = None


#: Builds the channel from its settings section and the shared resources.
Factory = Callable[[Any, Wiring], Channel]


@dataclass(frozen=True, slots=True)
class Callback:
    """One unsigned callback URL: ``POST /callbacks/<provider>/<path>/<secret>``."""

    path: str
    parse: BodyParser


@dataclass(frozen=True, slots=True)
class Emulator:
    """How ``pusher emulate <cli>`` and compose run the provider's emulator.

    ``module`` names the emulator module (imported only when emulating), which
    offers ``from_options(EmulatorOptions) -> web.Application``; ``port`` is its
    port in compose; ``settings`` are the section's values that point the service
    at it there (``{base_url}`` stands for the emulator's URL).
    """

    module: str
    port: int
    settings: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Provider:
    """One provider: its names, settings, factory, callbacks, errors, quotas and emulator.

    ``name`` is ``Channel.provider`` (recorded on deliveries, in callback paths);
    ``cli`` its name on the command line and in compose (None: not offered);
    ``section`` its settings field (``PUSHER_<SECTION>__...``), ``required`` the
    fields a real send needs, ``switch`` a top-level setting that must be true as
    well. ``signed_callback``: the provider signs its callbacks itself (WeChat's
    ``/callbacks/<name>`` handshake and events); ``callbacks``: the unsigned ones,
    behind the secret path segment. ``receipt_sink``: receipts arrive on the
    channel's own connection and go to ``Wiring.receipts``. ``sms_mode``: what an
    SMS account lets us send (:class:`SmsMode`); None for the other kinds.
    """

    name: str
    kind: ChannelKind | None
    title: str
    factory: Factory | None = None
    cli: str | None = None
    section: str | None = None
    settings: type[BaseModel] | None = None
    required: tuple[str, ...] = ()
    switch: str | None = None
    signed_callback: bool = False
    callbacks: tuple[Callback, ...] = ()
    receipt_sink: bool = False
    errors: ErrorTable = field(default_factory=dict)
    quota_waits: Mapping[str, int | str] = field(default_factory=dict)
    emulator: Emulator | None = None
    sms_mode: SmsMode | None = None

    @property
    def env_prefix(self) -> str:
        """``PUSHER_ALIYUN_SMS__``: where its settings come from."""
        return f"PUSHER_{(self.section or self.name).upper()}__"

    def ready(self, section: BaseModel) -> bool:
        """Whether every value a real send needs is set in ``section``."""
        return all(_filled(getattr(section, name)) for name in self.required)

    def enabled(self, settings: Any) -> bool:
        """Whether the service should use it: ready, and switched on where it has a switch."""
        if self.section is None or self.factory is None:
            return False
        if self.switch is not None and not getattr(settings, self.switch):
            return False
        section: BaseModel = getattr(settings, self.section)
        return self.ready(section)

    def missing(self) -> str:
        """What an office must set before it can send (for ``pusher send-test``)."""
        names = "、".join(f"{self.env_prefix}{name.upper()}" for name in self.required)
        return f"{self.title}未配置：请设置 {names}"


def _filled(value: object) -> bool:
    if isinstance(value, SecretStr):
        return bool(value.get_secret_value())
    return bool(value)
