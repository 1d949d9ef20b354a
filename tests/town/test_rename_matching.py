"""A region renamed is picked up by matching at once, in the running process.

The rulebook's fingerprint sees the rename (it keeps the region count, so a count alone
would miss it): it recompiles, and its tokenizer knows the new name as one word (region
names are words for jieba, which judges short keywords' boundaries). Region groups'
reasons name the region as it is called now.
"""

from __future__ import annotations

from pathlib import Path

from pusher.db import SessionFactory, transaction
from pusher.models import Item
from pusher.pipeline.match import find_matches
from pusher.pipeline.rulebook import Rulebook
from pusher.town.groups import GroupIn, create_group
from pusher.town.region_import import import_regions
from pusher.town.regions import by_code, rename_region
from rules.tokenizer import word_spans

TOWN, VILLAGE = "360123101000", "360123101001"
OLD_NAME, NEW_NAME = "桦甸坪村", "鹭鸶坳村"


async def _match(db: SessionFactory, rulebook: Rulebook, title: str) -> list[object]:
    async with db() as session:
        village = await by_code(session, VILLAGE)
        matcher = await rulebook.current(session)
        item = Item(id=1, title=title, body="", publisher="镇政府", region_id=village.id or 0)
        _domains, reasons = await find_matches(
            session, item, matcher=matcher, classifier=rulebook.classifier
        )
    return [why for group in reasons.values() for why in group]


def _words(rulebook: Rulebook, text: str) -> list[str]:
    return [text[a:b] for a, b in word_spans(rulebook.tokenizer, text)]


async def test_a_renamed_village_is_known_by_its_new_name_at_once(
    db: SessionFactory, jieba_cache: Path
) -> None:
    async with transaction(db) as session:
        await import_regions(
            session,
            [
                {"代码": TOWN, "名称": "青山镇", "上级代码": ""},
                {"代码": VILLAGE, "名称": OLD_NAME, "上级代码": TOWN},
            ],
        )
        await create_group(session, GroupIn("村民", "region", region_code=VILLAGE))
        await create_group(session, GroupIn("停水", "tag", tag="x", rules=("停水",)))
    rulebook = Rulebook(cache_dir=jieba_cache)
    title = f"{NEW_NAME}停水通知"
    before = await _match(db, rulebook, title)
    assert {"kind": "region", "region": OLD_NAME, "urgent": "normal"} in before
    assert NEW_NAME not in _words(rulebook, title)
    compiled = rulebook.matcher

    async with transaction(db) as session:
        await rename_region(session, await by_code(session, VILLAGE), NEW_NAME)

    after = await _match(db, rulebook, title)
    assert rulebook.matcher is not compiled  # the rename changed the fingerprint
    assert NEW_NAME in _words(rulebook, title)
    assert {"kind": "region", "region": NEW_NAME, "urgent": "normal"} in after
    assert any(why.get("keyword") == "停水" for why in after if isinstance(why, dict))
