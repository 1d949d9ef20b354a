"""Review: the confidentiality review (保密审查) in two steps, or one for urgent warnings.

draft/rejected --submit--> submitted --staff approve--> checked --leader approve--> approved
submitted/checked --reject--> rejected;  urgent: submitted --leader/duty approve--> approved

Who may take a step (:func:`refusal`): the staff check (经办/审核) is a reviewer's, the
approval a leader's (主管领导); an admin may take either. The two are different people and
neither is the item's author (who wrote or submitted it). The one-step urgent path is open
only to a leader or a duty officer (值班), never the author. A refused step raises
:class:`ReviewRefused` (403) before anything is written; :func:`record_refusal` audits it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.audit import record
from pusher.db import SessionFactory, transaction
from pusher.errors import Conflict, Forbidden, InvalidInput
from pusher.models import Disclosure, Item, ItemStatus, Review, Role, Urgency, User, utcnow
from pusher.pipeline.domain_review import clear as clear_domain_review


class Step(StrEnum):
    STAFF = "staff"  # 经办人/保密员审核
    LEADER = "leader"  # 分管领导审批
    URGENT = "urgent"  # 紧急预警一步审批


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


@dataclass(frozen=True)
class Actor:
    """Who takes a review step: their username, role and duty-officer flag."""

    username: str
    role: str
    duty_officer: bool = False

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(user.username, user.role, user.duty_officer)


class ReviewRefused(Forbidden):
    """This actor may not take this step on this item (403, audited by the caller)."""

    def __init__(self, message: str, *, actor: Actor, item_id: int, step: Step) -> None:
        super().__init__(message)
        self.actor, self.item_id, self.step = actor, item_id, step


_FROM = {
    Step.STAFF: ItemStatus.SUBMITTED,
    Step.LEADER: ItemStatus.CHECKED,
    Step.URGENT: ItemStatus.SUBMITTED,
}
_ROLES = {
    Step.STAFF: (Role.REVIEWER, Role.ADMIN),
    Step.LEADER: (Role.LEADER, Role.ADMIN),
    Step.URGENT: (Role.LEADER,),
}
OWN = "不能审核自己起草或提交的信息，请由其他审核人员办理。此次操作已记入操作日志。"
SAME = "保密审查和领导审批必须由两个不同的人完成。此次操作已记入操作日志。"
NOT_STAFF = "只有审核人或管理员可以进行保密审查。此次操作已记入操作日志。"
NOT_LEADER = "只有主管领导或管理员可以进行领导审批。此次操作已记入操作日志。"
NOT_URGENT = "只有主管领导或值班人员可以一步审批紧急信息。此次操作已记入操作日志。"
_NOT_ROLE = {Step.STAFF: NOT_STAFF, Step.LEADER: NOT_LEADER, Step.URGENT: NOT_URGENT}


def refusal(
    actor: Actor, step: Step, *, author: str | None, earlier: Sequence[Review]
) -> str | None:
    """Why ``actor`` may not take ``step`` (a Chinese sentence), or None when they may.

    ``author`` is the username of whoever wrote the item; ``earlier`` are its Review
    rows in order (submissions count as authorship; the staff check of the current
    round is the person the leader step must differ from).
    """
    current = _current_round(earlier)
    authors = {author} | {r.reviewer for r in earlier if r.step == "submit"}
    if actor.username in authors:
        return OWN
    urgent_ok = step is Step.URGENT and actor.duty_officer
    if actor.role not in _ROLES[step] and not urgent_ok:
        return _NOT_ROLE[step]
    checked_by = {r.reviewer for r in current if r.step == Step.STAFF}
    if step is Step.LEADER and actor.username in checked_by:
        return SAME
    return None


def _current_round(earlier: Sequence[Review]) -> Sequence[Review]:
    """The rows since the last submission (a rejected item starts a new round)."""
    starts = [i for i, r in enumerate(earlier) if r.step == "submit"]
    return earlier[starts[-1] :] if starts else earlier


def ensure_editable(item: Item) -> None:
    if item.status not in (ItemStatus.DRAFT, ItemStatus.REJECTED):
        raise Conflict(f"信息当前状态为「{item.status}」，不能修改")


async def submit(session: AsyncSession, item: Item, *, actor: str) -> Item:
    """Send a draft (or a rejected item after editing) to review."""
    ensure_editable(item)
    item.status = ItemStatus.SUBMITTED
    clear_domain_review(item)  # a new round: the text it was taken on may have changed
    item.updated_at = utcnow()
    session.add(Review(item_id=_id(item), step="submit", decision="submit", reviewer=actor))
    return item


async def decide(
    session: AsyncSession,
    item: Item,
    *,
    step: Step,
    decision: Decision,
    actor: Actor,
    opinion: str = "",
    publish_form: str = "",
) -> bool:
    """Record one review step; returns True when the item became approved for pushing.

    Raises :class:`ReviewRefused` when :func:`refusal` says ``actor`` may not take it.
    """
    if item.status != _FROM[step]:
        raise Conflict(f"信息当前状态为「{item.status}」，不能进行「{step}」审核")
    if step is Step.URGENT and item.urgency != Urgency.URGENT:
        raise Conflict("只有紧急信息可以一步审批")
    author, earlier = await author_of(session, item), await history(session, item)
    why = refusal(actor, step, author=author, earlier=earlier)
    if why:
        raise ReviewRefused(why, actor=actor, item_id=_id(item), step=step)
    if decision is Decision.REJECT and not opinion.strip():
        raise InvalidInput("退回时必须填写意见", field="opinion")
    session.add(
        Review(
            item_id=_id(item),
            step=step,
            decision=decision,
            opinion=opinion,
            publish_form=publish_form,
            reviewer=actor.username,
        )
    )
    item.updated_at = utcnow()
    if decision is Decision.REJECT:
        item.status = ItemStatus.REJECTED
        return False
    item.status = ItemStatus.CHECKED if step is Step.STAFF else ItemStatus.APPROVED
    return item.status == ItemStatus.APPROVED


async def author_of(session: AsyncSession, item: Item) -> str | None:
    """The username of the user who created ``item`` (None for imported items)."""
    if item.created_by is None:
        return None
    return await session.scalar(select(User.username).where(User.id == item.created_by))


async def history(session: AsyncSession, item: Item) -> list[Review]:
    """The item's Review rows, oldest first."""
    query = select(Review).where(Review.item_id == _id(item)).order_by(Review.id)
    return list(await session.scalars(query))


async def urgent_marker(session: AsyncSession, item: Item) -> dict[str, str] | None:
    """Who marked ``item`` urgent (its author) and a note for reviewers; None if not urgent."""
    if item.urgency != Urgency.URGENT:
        return None
    row = None
    if item.created_by is not None:
        query = select(User.username, User.role).where(User.id == item.created_by)
        row = (await session.execute(query)).first()
    if row is None:
        return {"username": "", "role": "", "note": "由导入的来源标记为紧急"}
    username, role = row
    who = {Role.PUBLISHER: "发布者", Role.ADMIN: "管理员"}.get(role, "起草人")
    return {"username": username, "role": role, "note": f"{who}标记为紧急（{username}）"}


async def record_refusal(factory: SessionFactory, exc: ReviewRefused) -> None:
    """Write the audit row of a refused review step (in its own transaction)."""
    async with transaction(factory) as session:
        record(
            session,
            actor=exc.actor.username,
            action="review.refused",
            target=f"item:{exc.item_id}",
            detail={"step": exc.step.value, "role": exc.actor.role, "why": exc.message},
        )


def pushable(item: Item) -> bool:
    """Only approved, proactively disclosed items are ever pushed."""
    return item.status in (ItemStatus.APPROVED, ItemStatus.PUSHED) and (
        item.disclosure == Disclosure.PROACTIVE
    )


def _id(item: Item) -> int:
    assert item.id is not None, "item must be flushed before review"
    return item.id
