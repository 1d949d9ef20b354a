"""Match: classify an item into domains and find the groups it concerns, with reasons.

A group is matched when
- one of its keyword rules fires on the item's text (reason: rule, keyword, field, offset);
- it is a topic group and the item is in its topic's domain, declared or classified;
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
from rules import ItemText, Matcher, classify_domains

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
        domains=(item.domain,) if item.domain else (),
        urgency=item.urgency,
    )
    hits = classify_domains(text, tokenizer=tokenizer)
    domains = sorted({*text.domains, *(hit.domain for hit in hits)})
    text = replace(text, domains=tuple(domains))
    reasons: Reasons = defaultdict(list)
    for found in matcher.match(text):
        why = [{"kind": "rule", **asdict(r)} for r in found.reasons]
        # a rule with filters only (region, domain) fires without keywords: say which rule
        reasons[int(found.group)].extend(why or [{"kind": "rule", "rule": " ; ".join(found.rules)}])
    await _topic_groups(session, domains, hits, reasons)
    await _region_groups(session, item, region, reasons)
    return domains, dict(reasons)


async def _topic_groups(
    session: AsyncSession, domains: list[str], hits: list[Any], reasons: Reasons
) -> None:
    if not domains:
        return
    by_domain = {hit.domain: hit for hit in hits}
    rows = await session.execute(
        select(Group.id, Topic.name)
        .join(Topic, Topic.id == Group.topic_id)
        .where(Group.kind == GroupKind.TOPIC, Topic.name.in_(domains))
    )
    for group_id, name in rows:
        hit = by_domain.get(name)
        keywords = [asdict(r) for r in hit.reasons] if hit is not None else []
        source = "classified" if hit is not None else "declared"
        reasons[group_id].append(
            {"kind": "domain", "domain": name, "source": source, "keywords": keywords}
        )


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
