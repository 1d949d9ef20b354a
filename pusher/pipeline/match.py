"""Match: classify an item into domains and find the groups it concerns, with reasons.

A group is matched when
- one of its keyword rules fires on the item's text (reason: rule, keyword, field, offset);
- it is a topic group and the item is in its topic's domain: the domain its reviewer
  chose before approval (possibly none), else the one its publisher declared, else the
  one the classifier is confident of (``rules.decide_domains``, where "declared wins"
  lives); an item with no confident domain reaches no topic group;
- it is a region group for exactly the item's region and that region is a village,
  community or grid (a notice about one village concerns all its people), or the item
  is urgent and the group's region lies inside the item's region (warnings reach the
  whole area). A town-wide routine item reaches a town group only through its rules,
  so "精准推送" holds: a 高龄津贴 notice for the town goes to the elderly, not to all.
Who in a matched group receives the item is decided by planning (subscriptions).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, replace
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.models import Group, GroupKind, Item, ItemMatch, Region, RegionKind, Topic, Urgency
from pusher.pipeline.domain_review import reviewed
from rules import DomainHit, ItemText, Matcher
from rules.domains import DomainDecision, classifier_for, decide_domains

Reasons = dict[int, list[dict[str, Any]]]


async def match_item(
    session: AsyncSession, item: Item, *, matcher: Matcher, tokenizer: Any
) -> list[ItemMatch]:
    """Classify ``item``, record its matched groups with reasons, and return them."""
    domains, reasons = await find_matches(session, item, matcher=matcher, tokenizer=tokenizer)
    item.domains = domains
    await session.execute(delete(ItemMatch).where(ItemMatch.item_id == item.id))
    rows = [ItemMatch(item_id=item.id, group_id=g, reasons=r) for g, r in sorted(reasons.items())]
    session.add_all(rows)
    return rows


async def find_matches(
    session: AsyncSession, item: Item, *, matcher: Matcher, tokenizer: Any
) -> tuple[list[str], Reasons]:
    """The item's domains and its matched groups with reasons, without writing anything."""
    region = await session.get_one(Region, item.region_id)
    text = ItemText(
        id=str(item.id),
        title=item.title,
        body=item.body,
        region_path=tuple(code for code in region.path.split("/") if code),
        urgency=item.urgency,
    )
    decision = item_domain_decision(item, text, tokenizer=tokenizer)
    text = replace(text, domains=decision.domains)
    reasons: Reasons = defaultdict(list)
    for found in matcher.match(text):
        why = [{"kind": "rule", **asdict(r)} for r in found.reasons]
        # a rule with filters only (region, domain) fires without keywords: say which rule
        reasons[int(found.group)].extend(why or [{"kind": "rule", "rule": " ; ".join(found.rules)}])
    await _topic_groups(session, item, decision, reasons)
    await _region_groups(session, item, region, reasons)
    return list(decision.domains), dict(reasons)


def item_domain_decision(item: Item, text: ItemText, *, tokenizer: Any) -> DomainDecision:
    """The item's domains: chosen by its reviewer, else declared by its publisher, else
    classified from ``text``."""
    declared = [("item", item.domain)] if item.domain else []
    return decide_domains(
        declared,
        lambda: classifier_for(tokenizer).classify(text),
        reviewed=reviewed(item),
    )


def domain_explanation(decision: DomainDecision) -> dict[str, Any]:
    """What a review page shows about an item's domain: which, from where, and why."""
    return {
        "domains": list(decision.domains),
        "source": decision.source,
        "declared_by": decision.declared_by,
        "classified": [_hit_reason(hit) for hit in decision.hits],
    }


def _hit_reason(hit: DomainHit) -> dict[str, Any]:
    return {"domain": hit.domain, "score": hit.score, "keywords": [asdict(r) for r in hit.reasons]}


async def _topic_groups(
    session: AsyncSession, item: Item, decision: DomainDecision, reasons: Reasons
) -> None:
    if not decision.domains:
        return
    by_domain = {hit.domain: hit for hit in decision.hits}
    rows = await session.execute(
        select(Group.id, Topic.name)
        .join(Topic, Topic.id == Group.topic_id)
        .where(Group.kind == GroupKind.TOPIC, Topic.name.in_(decision.domains))
    )
    for group_id, name in rows:
        why: dict[str, Any] = {"kind": "domain", "domain": name, "source": decision.source}
        hit = by_domain.get(name)
        if decision.source == "reviewed":
            why.update(reviewed_by=item.domain_reviewed_by, keywords=[])
        elif hit is None:
            why.update(declared_by=decision.declared_by, keywords=[])
        else:
            why.update(_hit_reason(hit))
        reasons[group_id].append(why)


async def _region_groups(
    session: AsyncSession, item: Item, region: Region, reasons: Reasons
) -> None:
    query = select(Group.id, Region.path, Region.name).join(Region, Region.id == Group.region_id)
    query = query.where(Group.kind == GroupKind.REGION)
    if item.urgency == Urgency.URGENT:
        query = query.where(Region.path.startswith(region.path))
    elif region.kind in (RegionKind.VILLAGE, RegionKind.GRID):
        query = query.where(Region.id == region.id)
    else:
        return
    for group_id, _path, name in await session.execute(query):
        reasons[group_id].append({"kind": "region", "region": name, "urgent": item.urgency})
