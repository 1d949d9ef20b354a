"""The audit log: who did what, when (reviews, rule changes, exports, logins, denials)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from pusher.models import AuditLog


def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    target: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditLog:
    """Add one audit row to ``session`` (committed with the caller's transaction)."""
    row = AuditLog(actor=actor[:64], action=action[:64], target=target[:200], detail=detail or {})
    session.add(row)
    return row
