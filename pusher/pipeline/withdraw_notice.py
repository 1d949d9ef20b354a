"""The optional withdrawal notice (撤回通知): a short 【撤回】 message to exactly those who
received the item, by the channel and address each received it on, once each.

It takes the corrections' path (:mod:`pusher.pipeline.correct`): the notice is an item
with ``corrects_id`` pointing at the withdrawn one, so planning copies the first
version's received rows instead of matching. It is approved by the withdrawal itself
(a review row in the withdrawer's name, so the register lists the release) and is
withdrawn from birth (``withdrawn_at``), so it never shows in public or residents'
lists; its link opens a page saying the item was withdrawn and why.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from pusher.audit import record
from pusher.errors import Conflict
from pusher.models import Item, ItemStatus, Review
from pusher.pipeline.correct import KEEP, WITHDRAWN


def draft_notice(original: Item, *, reason: str, now: datetime) -> Item:
    """The notice item for ``original`` (withdrawn at ``now`` for ``reason``)."""
    fields = {name: getattr(original, name) for name in KEEP}
    day = now.strftime("%Y年%m月%d日")
    return Item(
        **fields,
        title=f"{WITHDRAWN}{original.title}"[:200],
        body=f"「{original.title}」已于{day}撤回（原因：{reason[:30]}），请以后续通知为准。",
        corrects_id=original.id,
        status=ItemStatus.APPROVED,
        published_at=now,
        withdrawn_at=now,
        withdraw_reason=reason,
    )


async def add_notice(
    session: AsyncSession, original: Item, *, actor: str, reason: str, now: datetime
) -> Item:
    """Write the notice of a just-withdrawn ``original``; the caller enqueues its push."""
    if original.withdrawn_at is None:
        raise Conflict("只有已撤回的信息才能发送撤回通知")
    notice = draft_notice(original, reason=reason, now=now)
    session.add(notice)
    await session.flush()
    assert notice.id is not None
    session.add(Review(item_id=notice.id, step="leader", decision="approve", at=now,
                       opinion=f"撤回通知：{reason}"[:1000], reviewer=actor))  # fmt: skip
    record(session, actor=actor, action="item.withdraw_notice", target=f"item:{original.id}",
           detail={"notice": notice.id})  # fmt: skip
    return notice
