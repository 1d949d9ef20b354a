"""The compiled rules of all groups, rebuilt off the hot path when rules change.

Every process keeps one :class:`Rulebook`; before matching it compares a cheap
fingerprint of the rule table with the one it compiled, so a running worker
picks up edited rules without a restart.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.models import Region, Rule
from rules import Matcher, build_tokenizer
from rules.compiler import RuleTexts, collection_policy

log = logging.getLogger(__name__)

_PAGE = 5_000


@dataclass
class Rulebook:
    """Holds the tokenizer and the newest compiled matcher."""

    cache_dir: Path
    tokenizer: Any = None
    matcher: Matcher | None = None
    fingerprint: tuple[Any, ...] = ()
    region_count: int = -1
    _lock: asyncio.Lock | None = None
    _texts: RuleTexts = field(default_factory=RuleTexts, repr=False)

    async def current(self, session: AsyncSession) -> Matcher:
        """The matcher for the rules now in the database, recompiled if they changed."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            fingerprint = await _fingerprint(session)
            if self.matcher is None or fingerprint != self.fingerprint:
                await self._rebuild(session, fingerprint)
            assert self.matcher is not None
            return self.matcher

    async def _rebuild(self, session: AsyncSession, fingerprint: tuple[Any, ...]) -> None:
        region_names = list((await session.scalars(select(Region.name))).all())
        if self.tokenizer is None or len(region_names) != self.region_count:
            self.tokenizer = await asyncio.to_thread(
                build_tokenizer, extra_words=region_names, cache_dir=self.cache_dir
            )
            self.region_count = len(region_names)
        # Parsing 100,000 rules takes a second: it runs in the thread with the compile.
        # Reading them allocates as much, so the collector pauses for both (long_lived).
        with collection_policy(fingerprint[0]):
            rows = await load_rule_texts(session)
            compile_texts = self._texts.compile  # parses only the rules that changed
            self.matcher = await asyncio.to_thread(compile_texts, rows, tokenizer=self.tokenizer)
        self.fingerprint = fingerprint
        log.info("rules compiled", extra={"rules": len(rows), "version": self.matcher.version})


async def _fingerprint(session: AsyncSession) -> tuple[Any, ...]:
    rules = (await session.execute(select(func.count(Rule.id), func.max(Rule.updated_at)))).one()
    regions = await session.scalar(select(func.count(Region.id)))
    return (rules[0], rules[1], regions)


async def load_rule_texts(session: AsyncSession) -> list[tuple[str, str]]:
    """Every enabled rule's text and group id, unparsed, in rule order.

    Read in pages, so that the event loop runs between them even for 100,000 rules.
    """
    query = select(Rule.expression, Rule.group_id).where(Rule.enabled.is_(True))
    result = await session.stream(query.order_by(Rule.id))
    rows: list[tuple[str, str]] = []
    async for page in result.partitions(_PAGE):
        rows.extend((expression, str(group_id)) for expression, group_id in page)
    return rows
