"""The sandbox channel's sink: messages kept in the database for the console's inbox."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select

from channels.sandbox import SandboxLookup, SandboxSink
from channels.sandbox import SandboxMessage as Kept
from pusher.db import SessionFactory, transaction
from pusher.models import SandboxMessage


def database_sink(db: SessionFactory) -> SandboxSink:
    """A sink that stores each batch with one bulk insert (the ORM's unit of work
    inserted row by row on SQLite: four driver calls a message)."""

    async def sink(messages: Sequence[Kept]) -> None:
        if not messages:
            return
        rows = [
            {
                "kind": m.kind.value,
                "recipient": m.recipient,
                "key": m.key,
                "text": m.text,
                "provider_id": m.provider_id,
                "at": m.at,
            }
            for m in messages
        ]
        async with transaction(db) as session:
            await session.execute(insert(SandboxMessage.__table__), rows)

    return sink


def database_lookup(db: SessionFactory) -> SandboxLookup:
    """Keys the sandbox already kept, with their provider ids."""

    async def lookup(keys: Sequence[str]) -> dict[str, str]:
        async with db() as session:
            rows = await session.execute(
                select(SandboxMessage.key, SandboxMessage.provider_id).where(
                    SandboxMessage.key.in_(list(keys))
                )
            )
            return {key: provider_id for key, provider_id in rows}

    return lookup
