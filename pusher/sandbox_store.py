"""The sandbox channel's sink: messages kept in the database for the console's inbox."""

from __future__ import annotations

from collections.abc import Sequence

from channels.sandbox import SandboxMessage as Kept
from channels.sandbox import SandboxSink
from pusher.db import SessionFactory, transaction
from pusher.models import SandboxMessage


def database_sink(db: SessionFactory) -> SandboxSink:
    """A sink that stores each batch in one transaction."""

    async def sink(messages: Sequence[Kept]) -> None:
        async with transaction(db) as session:
            session.add_all(
                SandboxMessage(
                    kind=m.kind.value,
                    recipient=m.recipient,
                    key=m.key,
                    text=m.text,
                    provider_id=m.provider_id,
                    at=m.at,
                )
                for m in messages
            )

    return sink
