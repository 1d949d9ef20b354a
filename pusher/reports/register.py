"""The confidentiality review register (信息发布保密审查表): one entry per item reviewed.

Each entry is the latest review round of an item: the staff check (工作机构或者人员审查
意见) and the leader's approval (主管领导意见, or the one-step urgent approval), who
handled the item (承办人: its author, else whoever submitted it) and the publication
forms (发布形式) the approver chose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.models import Item, Review, User
from pusher.reports.clock import local_day
from pusher.reports.period import Period

STEPS = ("staff", "leader", "urgent")
HEADER = ["编号", "部门", "信息名称", "发布形式", "工作机构或者人员审查意见", "审查人",
          "审查日期", "主管领导意见", "主管领导", "审批日期", "承办人", "送审日期"]  # fmt: skip
DECISIONS = {"approve": "同意", "reject": "退回"}


@dataclass
class Entry:
    """One item's row of the register."""

    item_id: int
    department: str
    title: str
    publish_form: str = ""
    staff: Review | None = None
    leader: Review | None = None
    handler: str = ""
    submitted_at: datetime | None = None

    @staticmethod
    def opinion(review: Review | None) -> str:
        if review is None:
            return ""
        verdict = DECISIONS.get(review.decision, review.decision)
        return f"{verdict}。{review.opinion}" if review.opinion else verdict


def _fold(item: Any, author: str | None, reviews: Sequence[Review]) -> Entry:
    """The entry of ``item`` from its reviews in order (only the latest round counts)."""
    entry = Entry(item.id, item.publisher, item.title, handler=author or "")
    for review in reviews:
        if review.step == "submit":
            entry.staff = entry.leader = None
            entry.submitted_at = review.at
            entry.handler = author or review.reviewer
        elif review.step == "staff":
            entry.staff = review
        else:
            entry.leader = review
        entry.publish_form = review.publish_form or entry.publish_form
    return entry


async def entries(db: AsyncSession, *, period: Period | None = None,
                  item_id: int | None = None) -> list[Entry]:  # fmt: skip
    """Register entries of the items reviewed in ``period`` (or of one item)."""
    if item_id is not None:
        items = select(Item.id).where(Item.id == item_id)
    else:
        assert period is not None
        items = select(Review.item_id).where(
            Review.step.in_(STEPS), Review.at >= period.start, Review.at < period.end
        )
    query = (
        select(Item.id, Item.title, Item.publisher, User.username, User.display_name)
        .outerjoin(User, User.id == Item.created_by)
        .where(Item.id.in_(items))
        .order_by(Item.id)
    )
    rows = (await db.execute(query)).all()
    reviews = await db.scalars(
        select(Review).where(Review.item_id.in_(items)).order_by(Review.item_id, Review.id)
    )
    by_item: dict[int, list[Review]] = {}
    for review in reviews:
        by_item.setdefault(review.item_id, []).append(review)
    return [_fold(row, row.display_name or row.username, by_item.get(row.id, [])) for row in rows]


def _day(stamp: datetime | None) -> str:
    return local_day(stamp).isoformat() if stamp else ""


def row(entry: Entry) -> list[Any]:
    """The entry as a line of the register's spreadsheet."""
    staff, leader = entry.staff, entry.leader
    return [
        entry.item_id, entry.department, entry.title, entry.publish_form,
        Entry.opinion(staff), staff.reviewer if staff else "", _day(staff.at if staff else None),
        Entry.opinion(leader), leader.reviewer if leader else "",
        _day(leader.at if leader else None), entry.handler, _day(entry.submitted_at),
    ]  # fmt: skip
