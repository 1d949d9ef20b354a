"""One-time subscription-notice consents (一次性订阅) are used up by the notice they allow.

Where the account's notice template is one-time (``wechat.subscribe_once``), WeChat lets
one notice through per consent given in the subscribe popup. A notice WeChat accepted
spends the follower's consent on record (``wx_follower.consent_at``), so planning sends
their next push by SMS until they consent again (see :mod:`subscriptions.channel`). A
refusal with 43101 means WeChat holds no consent for them either, so the record goes too.
Only consents given before the batch went out are spent: one given while it was in
flight is for the next notice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from channels.base import Accepted, Outcome, Rejected
from pusher.models import WxFollower
from pusher.pipeline.claims import Claimed

NO_CONSENT = "43101"  # "user refuse to accept the msg"


def spent(batch: Sequence[Claimed], outcomes: Iterable[Outcome | None]) -> set[str]:
    """The openids whose consent this batch used up (accepted) or found missing (43101)."""
    out: set[str] = set()
    for claimed, outcome in zip(batch, outcomes, strict=True):
        if isinstance(outcome, Accepted) or (
            isinstance(outcome, Rejected) and outcome.error.code == NO_CONSENT
        ):
            out.add(claimed.recipient)
    return out


async def spend(session: AsyncSession, openids: set[str], *, given_before: datetime) -> int:
    """Clear the consents of ``openids`` given before ``given_before``; how many."""
    if not openids:
        return 0
    result = await session.execute(
        update(WxFollower)
        .where(
            col(WxFollower.openid).in_(sorted(openids)),
            col(WxFollower.consent_at) <= given_before,
        )
        .values(consent_at=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)
