"""One place that decides which channel serves each kind: ``build_channels``."""

from __future__ import annotations

from channels.base import Channel, ChannelKind
from channels.sandbox import SandboxChannel, SandboxSink


def build_channels(*, sandbox_sink: SandboxSink) -> dict[ChannelKind, Channel]:
    """A channel for every kind; kinds with no provider configured use the sandbox."""
    return {kind: SandboxChannel(kind, sink=sandbox_sink) for kind in ChannelKind}
