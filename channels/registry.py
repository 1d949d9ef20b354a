"""The providers the service knows, in one tuple, and what is generated from it.

Adding a provider is its module (with its ``PROVIDER`` descriptor, see
:mod:`channels.descriptor`), its emulator, its tests and one line in
:data:`PROVIDERS`. ``build_channels`` decides which channel serves each kind:
a kind whose provider is configured gets the real client; a kind with none
configured gets the sandbox, so embedded mode and the demo work with no
accounts at all. For a kind with several providers (SMS) the settings' preferred
one comes first, then the others in registry order: the first configured wins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import aiohttp

from channels import aliyun_sms, sandbox, tencent_sms, wechat, wecom
from channels.base import Channel, ChannelKind
from channels.cmpp import channel as cmpp
from channels.descriptor import Provider, ReceiptSink, Wiring
from channels.errors import UNKNOWN, ErrorTable, lookup
from channels.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from channels.sandbox import SandboxChannel, SandboxLookup, SandboxSink
from channels.wechat_token import build_token_store

__all__ = ["PROVIDERS", "build_channels", "build_limiter", "build_token_store"]

PROVIDERS: tuple[Provider, ...] = (
    wechat.PROVIDER,
    wecom.PROVIDER,
    aliyun_sms.PROVIDER,
    tencent_sms.PROVIDER,
    cmpp.PROVIDER,
    sandbox.PROVIDER,
)

#: Error tables by ``Channel.provider``.
TABLES: Mapping[str, ErrorTable] = {p.name: p.errors for p in PROVIDERS if p.errors}
#: Per-recipient quota waits by ``Channel.provider`` (see :mod:`channels.quota`).
QUOTA_WAITS: Mapping[str, Mapping[str, int | str]] = {
    p.name: p.quota_waits for p in PROVIDERS if p.quota_waits
}


class ChannelSettings(Protocol):
    """The part of the service's settings the channels read (and one section each)."""

    sms_provider: str


def provider(name: str) -> Provider:
    """The provider called ``name``; ``KeyError`` when there is none."""
    for p in PROVIDERS:
        if p.name == name:
            return p
    raise KeyError(name)


def by_cli(cli: str) -> Provider:
    """The provider whose command-line name is ``cli``; ``KeyError`` when there is none."""
    for p in PROVIDERS:
        if p.cli is not None and p.cli == cli:
            return p
    raise KeyError(cli)


def cli_names() -> list[str]:
    """The providers offered on the command line (send-test, emulate), in registry order."""
    return [p.cli for p in PROVIDERS if p.cli is not None]


def emulated() -> list[Provider]:
    """The providers with an emulator, in registry order."""
    return [p for p in PROVIDERS if p.emulator is not None and p.cli is not None]


def names(kind: ChannelKind) -> list[str]:
    """The providers of ``kind``, in registry order."""
    return [p.name for p in PROVIDERS if p.kind is kind]


def order(kind: ChannelKind, preferred: str | None = None) -> list[Provider]:
    """The providers of ``kind`` in the order they are tried: ``preferred`` first."""
    found = [p for p in PROVIDERS if p.kind is kind]
    return sorted(found, key=lambda p: p.name != preferred)


def describe(name: str, code: str) -> str:
    """The Chinese description of ``code`` for provider ``name`` (unknown codes say so)."""
    table = TABLES.get(name)
    return lookup(table, code)[1] if table is not None else UNKNOWN


def build_limiter(redis: Any | None, *, prefix: str = "pusher:rl:") -> RateLimiter:
    """Shared through Redis when there is one (every worker counts), else in process."""
    return RedisRateLimiter(redis, prefix=prefix) if redis is not None else MemoryRateLimiter()


def build(p: Provider, settings: Any, wiring: Wiring) -> Channel:
    """Provider ``p``'s client from its section of ``settings`` (whether configured or not)."""
    if p.factory is None or p.section is None:
        raise ValueError(f"{p.name} is not built from settings")
    return p.factory(getattr(settings, p.section), wiring)


def _pick(kind: ChannelKind, settings: ChannelSettings, wiring: Wiring) -> Channel | None:
    preferred = settings.sms_provider if kind is ChannelKind.SMS else None
    for p in order(kind, preferred):
        if p.enabled(settings):
            return build(p, settings, wiring)
    return None


def build_channels(
    settings: ChannelSettings,
    *,
    http: aiohttp.ClientSession,
    sandbox_sink: SandboxSink,
    sandbox_lookup: SandboxLookup | None = None,
    redis: Any | None = None,
    limiter: RateLimiter | None = None,
    receipts: ReceiptSink | None = None,
    submits: Any | None = None,
) -> dict[ChannelKind, Channel]:
    """A channel for every kind; kinds with no provider configured use the sandbox.

    ``receipts`` takes what providers without HTTP callbacks hear on their own
    connection; ``submits`` is the database's record of CMPP submits
    (:mod:`channels.cmpp.ledger`). The caller starts each channel (``start``) and closes it.
    """
    wiring = Wiring(
        http=http,
        limiter=limiter or build_limiter(redis),
        redis=redis,
        receipts=receipts,
        submits=submits,
    )
    channels: dict[ChannelKind, Channel] = {}
    for kind in ChannelKind:
        channel = _pick(kind, settings, wiring)
        channels[kind] = channel or SandboxChannel(kind, sink=sandbox_sink, lookup=sandbox_lookup)
    return channels


def sections(providers: Sequence[Provider] = PROVIDERS) -> dict[str, Provider]:
    """The settings sections the providers declare, by field name."""
    return {p.section: p for p in providers if p.section is not None}
