"""The reviewer confirms an item's domain before approval (issue 24).

While an item is under review (submitted or checked), a reviewer, leader or admin sees
what the item's domain would be without them (:func:`suggest`: the declared domain, shown
as declared, else the classifier's suggestion with its score and the words it rests on)
and accepts it, changes it, or decides that the item belongs to no domain
(:func:`choose`). The decision is kept on the item (``domain_reviewed_by`` and
``reviewed_domain``), audited as ``item.domain``, and wins in matching
(:func:`pusher.pipeline.match.item_domain_decision`). A new submission (after the item
was edited) clears it: the text it was taken on has changed.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.audit import record
from pusher.errors import Conflict, InvalidInput
from pusher.models import Item, ItemStatus, Topic
from rules.domains import DomainDecision, classifier_for, decide_domains
from rules.model import ItemText

#: the form's value for "belongs to no domain"
NO_DOMAIN = "none"
#: where a reviewer may still decide the domain
OPEN_STATUSES = (ItemStatus.SUBMITTED, ItemStatus.CHECKED)
#: what the suggestion reads when it is not the reviewer's
_HOW = {"declared": "发布时选择", "classified": "自动归类建议", "none": "自动归类无把握"}


def suggest_now(item: Item, *, tokenizer: Any) -> DomainDecision:
    """The domain without the reviewer: declared wins, else the classifier (CPU work)."""
    declared = [("item", item.domain)] if item.domain else []
    text = ItemText(id=str(item.id), title=item.title, body=item.body)
    return decide_domains(declared, lambda: classifier_for(tokenizer).classify(text))


async def suggest(item: Item, *, tokenizer: Any) -> DomainDecision:
    """:func:`suggest_now` in a thread (jieba over a long body stays off the loop)."""
    return await asyncio.to_thread(suggest_now, item, tokenizer=tokenizer)


def reviewed(item: Item) -> tuple[str, ...] | None:
    """The reviewer's choice: None when nobody decided, ``()`` for "no domain"."""
    if item.domain_reviewed_by is None:
        return None
    return (item.reviewed_domain,) if item.reviewed_domain else ()


def explain(item: Item, suggestion: DomainDecision) -> dict[str, Any]:
    """What the review page and the API show: the suggestion, its reasons, the decision."""
    choice = reviewed(item)
    return {
        "declared": item.domain,
        "suggested": list(suggestion.domains),
        "suggested_source": suggestion.source,
        "suggested_how": _HOW[suggestion.source],
        "classified": [
            {"domain": h.domain, "score": h.score, "keywords": [asdict(r) for r in h.reasons]}
            for h in suggestion.hits
        ],
        "reviewed_by": item.domain_reviewed_by,
        "reviewed_domain": item.reviewed_domain,
        "domains": list(choice if choice is not None else suggestion.domains),
        "open": item.status in OPEN_STATUSES,
    }


async def known_domains(session: AsyncSession) -> list[str]:
    """The domains a reviewer may choose: the topics' names (the 26 and any added)."""
    return list((await session.scalars(select(Topic.name).order_by(Topic.id))).all())


async def choose(
    session: AsyncSession,
    item: Item,
    *,
    choice: str,
    actor: str,
    suggestion: DomainDecision,
) -> bool:
    """Record the reviewer's ``choice`` (a topic name, or :data:`NO_DOMAIN`) and audit
    it; returns False when it equals the decision already recorded (nothing written).

    Raises :class:`InvalidInput` for an unknown domain and :class:`Conflict` when the
    item is not under review.
    """
    if item.status not in OPEN_STATUSES:
        raise Conflict(f"信息当前状态为「{item.status}」，只能在审核过程中确认领域")
    chosen = None if choice == NO_DOMAIN else choice
    if chosen is not None and chosen not in await known_domains(session):
        raise InvalidInput(f"领域「{choice[:64]}」不存在，请从列表中选择", field="domain")
    if item.domain_reviewed_by is not None and item.reviewed_domain == chosen:
        return False
    item.domain_reviewed_by, item.reviewed_domain = actor, chosen
    record(
        session,
        actor=actor,
        action="item.domain",
        target=f"item:{item.id}",
        detail={
            "chosen": chosen,
            "suggested": list(suggestion.domains),
            "suggested_source": suggestion.source,
            "how": _how(chosen, suggestion),
        },
    )
    return True


def _how(chosen: str | None, suggestion: DomainDecision) -> str:
    if chosen is None:
        return "none" if suggestion.domains else "accepted"
    return "accepted" if suggestion.domains[:1] == (chosen,) else "changed"


def clear(item: Item) -> None:
    """Forget the decision (a new submission: the text may have changed)."""
    item.domain_reviewed_by = item.reviewed_domain = None
