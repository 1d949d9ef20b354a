"""What waits for a console user, and for whom: the notices :mod:`.notify` sends.

- An item in review waits for whoever may take its next step (:func:`review.refusal`
  says who): a submitted item for the reviewers, a checked one for the leaders, a
  submitted urgent warning for the leaders and duty officers (the one-step path).
  Its subject is the review row that put it there (``review:<id>``), so a rejected
  and resubmitted item waits anew, and a handled one waits no more.
- An urgent resident message (求助, 救命 …) still open and unanswered waits for the
  grid workers of its region; after :data:`REMIND_AFTER` it is escalated to the duty
  officers as well.

Urgent subjects get a second round :data:`REMIND_AFTER` after they began waiting,
normal items one round only. Only users who agreed (``notify_consent_at``) and left
a phone number or an openid are ever told.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.models import (
    Item,
    ItemStatus,
    Region,
    ResidentMessage,
    Review,
    Role,
    Urgency,
    User,
    UserRegion,
)
from pusher.pipeline import review

REMIND_AFTER = timedelta(minutes=5)
#: urgent messages older than this when first seen are not notified (a backlog is not news)
MESSAGE_HORIZON = timedelta(days=1)
_STEP = {ItemStatus.SUBMITTED: review.Step.STAFF, ItemStatus.CHECKED: review.Step.LEADER}


@dataclass(frozen=True, slots=True)
class Notice:
    """One round of one subject, for these users."""

    subject: str
    round: int
    user_ids: tuple[int, ...]
    title: str  # short: a WeChat template field takes 20 characters
    text: str
    path: str  # the page to act on, under public_url


def rounds(since: datetime, *, urgent: bool, now: datetime) -> list[int]:
    """The rounds due for a subject waiting since ``since``: 1, and 2 when urgent and
    :data:`REMIND_AFTER` has passed."""
    return [1, 2] if urgent and now - since >= REMIND_AFTER else [1]


async def contacts(session: AsyncSession) -> list[User]:
    """Active users who agreed to be told and can be reached."""
    query = select(User).where(
        User.active.is_(True),
        User.notify_consent_at.is_not(None),
        User.phone.is_not(None) | User.openid.is_not(None),
    )
    return list(await session.scalars(query.order_by(User.id)))


def _may_act(user: User, step: review.Step, item: Item, author: str | None,
             earlier: Sequence[Review]) -> bool:  # fmt: skip
    if user.role == Role.ADMIN:  # may act, but is not the one waited for
        return False
    if step is review.Step.URGENT and not (user.role == Role.LEADER or user.duty_officer):
        return False
    return review.refusal(review.Actor.of(user), step, author=author, earlier=earlier) is None


async def review_notices(
    session: AsyncSession, users: Sequence[User], *, now: datetime
) -> list[Notice]:
    """Items waiting in review, one notice per due round, for who may take the step."""
    items = list(
        await session.scalars(
            select(Item).where(Item.status.in_(list(_STEP))).order_by(Item.id).limit(500)
        )
    )
    notices: list[Notice] = []
    for item in items:
        earlier = await review.history(session, item)
        if not earlier:
            continue
        start, urgent = earlier[-1], item.urgency == Urgency.URGENT
        step = _STEP[ItemStatus(item.status)]
        if urgent and step is review.Step.STAFF:
            step = review.Step.URGENT
        author = await review.author_of(session, item)
        waiting = tuple(
            u.id for u in users if u.id is not None and _may_act(u, step, item, author, earlier)
        )
        if not waiting:
            continue
        for n in rounds(start.at, urgent=urgent, now=now):
            notices.append(_review_notice(item, start, n, waiting, step))
    return notices


def _review_notice(
    item: Item, start: Review, n: int, users: tuple[int, ...], step: review.Step
) -> Notice:
    what = "领导审批" if step is review.Step.LEADER else "保密审查"
    if step is review.Step.URGENT:
        what = "紧急信息审批"
    again = "（再次提醒）" if n > 1 else ""
    urgent = "【紧急】" if item.urgency == Urgency.URGENT else ""
    title = f"{urgent}待{what}"
    return Notice(
        subject=f"review:{start.id}",
        round=n,
        user_ids=users,
        title=title[:20],
        text=f"{urgent}信息「{item.title[:40]}」等待您{what}{again}，请登录后台办理",
        path=f"/items/{item.id}",
    )


async def message_notices(
    session: AsyncSession, users: Sequence[User], *, now: datetime
) -> list[Notice]:
    """Urgent residents' messages still open and unanswered: the region's grid workers
    (round 1), then also the duty officers (round 2, the escalation)."""
    messages = list(
        await session.scalars(
            select(ResidentMessage)
            .where(
                ResidentMessage.urgent.is_(True),
                ResidentMessage.status == "open",
                ResidentMessage.answered_at.is_(None),
                ResidentMessage.created_at >= now - MESSAGE_HORIZON,
            )
            .order_by(ResidentMessage.id)
            .limit(200)
        )
    )
    by_id = {u.id: u for u in users}
    duty = tuple(u.id for u in users if u.duty_officer and u.id is not None)
    notices: list[Notice] = []
    for message in messages:
        workers = await _grid_workers(session, message.region_id, by_id)
        for n in rounds(message.created_at, urgent=True, now=now):
            told = workers if n == 1 else tuple(dict.fromkeys(workers + duty))
            if told:
                notices.append(_message_notice(message, n, told))
    return notices


async def _grid_workers(
    session: AsyncSession, region_id: int | None, by_id: dict[int | None, User]
) -> tuple[int, ...]:
    """Contactable grid workers assigned to ``region_id`` or a region above it."""
    if region_id is None:
        return ()
    path = await session.scalar(select(Region.path).where(Region.id == region_id))
    if path is None:
        return ()
    assigned = select(UserRegion.user_id).join(Region, Region.id == UserRegion.region_id)
    above = assigned.where(func.substr(path, 1, func.length(Region.path)) == Region.path)
    ids = set(await session.scalars(above))
    return tuple(uid for uid in sorted(ids) if uid in by_id and by_id[uid].role == Role.GRID_WORKER)


def _message_notice(message: ResidentMessage, n: int, users: tuple[int, ...]) -> Notice:
    again = "仍未回复，请尽快处理" if n > 1 else "请尽快联系"
    return Notice(
        subject=f"message:{message.id}",
        round=n,
        user_ids=users,
        title="【紧急】居民求助留言",
        text=f"【紧急】居民留言「{message.text[:30]}」{again}",
        path="/messages",
    )
