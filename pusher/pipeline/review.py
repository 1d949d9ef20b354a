"""Review: the confidentiality review (保密审查) in two steps, or one for urgent warnings.

draft/rejected --submit--> submitted --staff approve--> checked --leader approve--> approved
submitted/checked --reject--> rejected;  urgent: submitted --reviewer approve--> approved
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from pusher.errors import Conflict, InvalidInput
from pusher.models import Disclosure, Item, ItemStatus, Review, Urgency, utcnow


class Step(StrEnum):
    STAFF = "staff"  # 经办人/保密员审核
    LEADER = "leader"  # 分管领导审批
    URGENT = "urgent"  # 紧急预警一步审批


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


_FROM = {
    Step.STAFF: ItemStatus.SUBMITTED,
    Step.LEADER: ItemStatus.CHECKED,
    Step.URGENT: ItemStatus.SUBMITTED,
}


def ensure_editable(item: Item) -> None:
    if item.status not in (ItemStatus.DRAFT, ItemStatus.REJECTED):
        raise Conflict(f"信息当前状态为「{item.status}」，不能修改")


async def submit(session: AsyncSession, item: Item, *, actor: str) -> Item:
    """Send a draft (or a rejected item after editing) to review."""
    ensure_editable(item)
    item.status = ItemStatus.SUBMITTED
    item.updated_at = utcnow()
    session.add(Review(item_id=_id(item), step="submit", decision="submit", reviewer=actor))
    return item


async def decide(
    session: AsyncSession,
    item: Item,
    *,
    step: Step,
    decision: Decision,
    actor: str,
    opinion: str = "",
    publish_form: str = "",
) -> bool:
    """Record one review step; returns True when the item became approved for pushing."""
    if item.status != _FROM[step]:
        raise Conflict(f"信息当前状态为「{item.status}」，不能进行「{step}」审核")
    if step is Step.URGENT and item.urgency != Urgency.URGENT:
        raise Conflict("只有紧急信息可以一步审批")
    if decision is Decision.REJECT and not opinion.strip():
        raise InvalidInput("退回时必须填写意见", field="opinion")
    session.add(
        Review(
            item_id=_id(item),
            step=step,
            decision=decision,
            opinion=opinion,
            publish_form=publish_form,
            reviewer=actor,
        )
    )
    item.updated_at = utcnow()
    if decision is Decision.REJECT:
        item.status = ItemStatus.REJECTED
        return False
    item.status = ItemStatus.CHECKED if step is Step.STAFF else ItemStatus.APPROVED
    return item.status == ItemStatus.APPROVED


def pushable(item: Item) -> bool:
    """Only approved, proactively disclosed items are ever pushed."""
    return item.status in (ItemStatus.APPROVED, ItemStatus.PUSHED) and (
        item.disclosure == Disclosure.PROACTIVE
    )


def _id(item: Item) -> int:
    assert item.id is not None, "item must be flushed before review"
    return item.id
