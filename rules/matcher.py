"""Matching items against every compiled rule (:mod:`rules.compiler` builds the matcher)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rules.domains import DomainClassifier, item_domains
from rules.index import Hit, KeywordIndex
from rules.model import GroupMatch, ItemText, Reason

TITLE_WEIGHT = 2.0
BODY_WEIGHT = 1.0

HitMap = dict[tuple[int, str], Hit]


@dataclass(frozen=True)
class Condition:
    """A keyword, the term it was compiled into and the fields it is looked for in."""

    keyword: str
    term: int
    fields: tuple[str, ...]

    def found(self, hits: HitMap) -> list[Hit]:
        return [h for f in self.fields if (h := hits.get((self.term, f))) is not None]


@dataclass(frozen=True)
class CompiledRule:
    """One rule with its keywords compiled; ``text`` is its compact form."""

    group: str
    text: str
    any: tuple[Condition, ...]
    all: tuple[Condition, ...]
    none: tuple[Condition, ...]
    region: str | None
    domains: frozenset[str]
    urgency: str | None

    def passes_filters(self, item: ItemText, domains: Callable[[], frozenset[str]]) -> bool:
        if self.urgency is not None and item.urgency != self.urgency:
            return False
        if self.region is not None and self.region not in item.region_path:
            return False
        return not self.domains or bool(self.domains & domains())

    def could_fire(self, terms: set[int]) -> bool:
        """A quick test on the terms found in any field; :meth:`reasons` decides."""
        return all(c.term in terms for c in self.all) and (
            not self.any or any(c.term in terms for c in self.any)
        )

    def reasons(self, hits: HitMap) -> list[Reason] | None:
        if any(c.found(hits) for c in self.none):
            return None
        found_all = [c.found(hits) for c in self.all]
        found_any = [c.found(hits) for c in self.any]
        if not all(found_all) or (self.any and not any(found_any)):
            return None
        conds = [*self.all, *self.any]
        return [
            Reason(c.keyword, h.field, h.offset, self.text, h.matched_text)
            for c, found in zip(conds, [*found_all, *found_any], strict=True)
            for h in found
        ]


class Matcher:
    """Every rule of every group compiled into one keyword automaton.

    ``version`` is a content hash of the specs (and the shipped word lists), so a worker
    can tell whether it holds the newest rules.
    """

    def __init__(
        self,
        rules: Sequence[CompiledRule],
        index: KeywordIndex,
        version: str,
        classifier: DomainClassifier | None,
    ) -> None:
        self.version = version
        self._rules = tuple(rules)
        self._index = index
        self._classifier = classifier
        self._postings, self._unkeyed = _post(self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    def _scan(self, item: ItemText) -> HitMap:
        hits: HitMap = {}
        for field, text in (("title", item.title), ("body", item.body)):
            for term, hit in self._index.scan(field, text).items():
                hits[(term, field)] = hit
        return hits

    def _candidates(self, terms: set[int], item: ItemText) -> list[int]:
        regions = (None, *item.region_path)
        found: set[int] = set()
        for region in regions:
            found.update(self._unkeyed.get(region, ()))
        for term in terms:
            for region in regions:
                found.update(self._postings.get((term, region), ()))
        return sorted(found)

    def _domain_source(self, item: ItemText) -> Callable[[], frozenset[str]]:
        cached: list[frozenset[str]] = []

        def domains() -> frozenset[str]:
            if not cached:
                cached.append(frozenset(item_domains(item, self._classifier)))
            return cached[0]

        return domains

    def match(self, item: ItemText) -> list[GroupMatch]:
        """The groups an item goes to, each with the reasons its rules fired."""
        hits = self._scan(item)
        domains = self._domain_source(item)
        by_group: dict[str, tuple[list[Reason], list[str]]] = {}
        terms = {t for t, _ in hits}
        for i in self._candidates(terms, item):
            rule = self._rules[i]
            if not rule.could_fire(terms):
                continue
            reasons = rule.reasons(hits)
            if reasons is not None and rule.passes_filters(item, domains):
                found, fired = by_group.setdefault(rule.group, ([], []))
                found.extend(reasons)
                fired.append(rule.text)
        return [
            GroupMatch(g, tuple(found), _score(found), tuple(fired))
            for g, (found, fired) in by_group.items()
        ]


Postings = dict[tuple[int, str | None], tuple[int, ...]]


def _post(rules: Sequence[CompiledRule]) -> tuple[Postings, dict[str | None, tuple[int, ...]]]:
    """Each rule's index under its posting terms and its region (None: any region).

    An item then meets only the region-scoped rules of its own regions; rules without a
    keyword are listed by region alone. Indices are appended in order, so every list is
    sorted.
    """
    postings: dict[tuple[int, str | None], list[int]] = {}
    unkeyed: dict[str | None, list[int]] = {}
    usage = Counter(c.term for rule in rules for c in (*rule.any, *rule.all))
    for i, rule in enumerate(rules):
        terms = _posting_terms(rule, usage)
        for term in terms:
            postings.setdefault((term, rule.region), []).append(i)
        if not terms:
            unkeyed.setdefault(rule.region, []).append(i)
    return (
        {k: tuple(r) for k, r in postings.items()},
        {k: tuple(r) for k, r in unkeyed.items()},
    )


def _posting_terms(rule: CompiledRule, usage: Counter[int]) -> set[int]:
    # A rule fires only if each all-term is found, and one any-term; so posting it under
    # any one all-term, or under every any-term, finds it. Take the option whose terms
    # the fewest rules share: a hit then brings the fewest candidates to check.
    if not rule.all:
        return {c.term for c in rule.any}
    if not rule.any and len(rule.all) == 1:
        return {rule.all[0].term}
    options = [{c.term} for c in rule.all]
    if rule.any:
        options.append({c.term for c in rule.any})
    return min(options, key=lambda terms: sum(usage[t] for t in terms), default=set())


def _score(reasons: list[Reason]) -> float:
    return sum(TITLE_WEIGHT if r.field == "title" else BODY_WEIGHT for r in reasons)
