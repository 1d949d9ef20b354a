"""The compiled rules of all groups, rebuilt off the hot path when rules change.

Every process keeps one :class:`Rulebook`; before matching it compares a cheap
fingerprint of the rule table with the one it compiled, so a running worker
picks up edited rules without a restart.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.models import Region, Rule
from rules import Matcher, RuleSpec, build_tokenizer, compile_rules, parse_rule

log = logging.getLogger(__name__)


@dataclass
class Rulebook:
    """Holds the tokenizer and the newest compiled matcher."""

    cache_dir: Path
    tokenizer: Any = None
    matcher: Matcher | None = None
    fingerprint: tuple[Any, ...] = ()
    region_count: int = -1
    _lock: asyncio.Lock | None = None

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
        specs = await load_specs(session)
        self.matcher = await asyncio.to_thread(compile_rules, specs, tokenizer=self.tokenizer)
        self.fingerprint = fingerprint
        log.info("rules compiled", extra={"rules": len(specs), "version": self.matcher.version})


async def _fingerprint(session: AsyncSession) -> tuple[Any, ...]:
    rules = (await session.execute(select(func.count(Rule.id), func.max(Rule.updated_at)))).one()
    regions = await session.scalar(select(func.count(Region.id)))
    return (rules[0], rules[1], regions)


async def load_specs(session: AsyncSession) -> list[RuleSpec]:
    """Every enabled rule as a spec named by its group's id."""
    rows = await session.execute(
        select(Rule.expression, Rule.group_id).where(Rule.enabled.is_(True)).order_by(Rule.id)
    )
    return [parse_rule(expression, group=str(group_id)) for expression, group_id in rows]
