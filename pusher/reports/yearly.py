"""Figures for the annual report on government information disclosure (政府信息公开工作
年度报告), in its shapes where they touch pusher's work: information proactively disclosed
by domain, the channels it went out on, and residents' messages received and handled.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.models import Item, Review
from pusher.reports import reach
from pusher.reports.monthly import CHANNEL_NAMES, published_by
from pusher.reports.period import Period
from pusher.reports.replies import replies
from pusher.reports.table import Table

#: how the register's 发布形式 is written (several joined by 、)
FORM_SEPARATORS = ("、", ",", "，", ";", "；", " ")


def split_forms(text: str) -> list[str]:
    for sep in FORM_SEPARATORS[1:]:
        text = text.replace(sep, FORM_SEPARATORS[0])
    return [part for part in text.split(FORM_SEPARATORS[0]) if part]


async def forms_used(db: AsyncSession, period: Period) -> list[list[Any]]:
    """Items per publication form chosen at approval (a form counted once per item)."""
    approving = Review.step.in_(("leader", "urgent")) & (Review.decision == "approve")
    query = (
        select(Review.publish_form, func.count(func.distinct(Review.item_id)))
        .where(approving, Review.at >= period.start, Review.at < period.end)
        .group_by(Review.publish_form)
    )
    counts: Counter[str] = Counter()
    for text, n in await db.execute(query):
        for form in set(split_forms(text or "")):
            counts[form] += int(n)
    return [[form, n] for form, n in counts.most_common()]


async def yearly(db: AsyncSession, period: Period) -> list[Table]:
    """The year's tables: disclosed by domain, forms, deliveries by channel, messages."""
    channels = await reach.by_channel(db, period)
    named = [[CHANNEL_NAMES.get(c, c), *rest] for c, *rest in channels]
    domains = await published_by(db, period, Item.domain)
    forms = await forms_used(db, period)
    return [
        Table("domain", "主动公开政府信息（按领域）", ["领域", "条数"], domains),
        Table("forms", "公开渠道（审查表所选发布形式）", ["发布形式", "条数"], forms),
        Table("channel", "精准推送（按渠道）", ["渠道", *reach.HEADER], named),
        await replies(db, period),
    ]
