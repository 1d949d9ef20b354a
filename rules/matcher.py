"""Compiling rule specs into one matcher and matching items against it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from rules.domains import DomainClassifier
from rules.index import Hit, KeywordIndex
from rules.model import FIELDS, GroupMatch, ItemText, Reason, RuleSpec
from rules.parser import check_spec, format_rule, split_scope
from rules.resources import data_hash
from rules.synonyms import load_synonyms
from rules.tokenizer import Tokenizer

TITLE_WEIGHT = 2.0
BODY_WEIGHT = 1.0

HitMap = dict[tuple[int, str], Hit]


@dataclass(frozen=True)
class _Cond:
    keyword: str
    term: int
    fields: tuple[str, ...]

    def found(self, hits: HitMap) -> list[Hit]:
        return [h for f in self.fields if (h := hits.get((self.term, f))) is not None]


@dataclass(frozen=True)
class _Rule:
    group: str
    text: str
    any: tuple[_Cond, ...]
    all: tuple[_Cond, ...]
    none: tuple[_Cond, ...]
    region: str | None
    domains: frozenset[str]
    urgency: str | None

    def passes_filters(self, item: ItemText, domains: Callable[[], frozenset[str]]) -> bool:
        if self.urgency is not None and item.urgency != self.urgency:
            return False
        if self.region is not None and self.region not in item.region_path:
            return False
        return not self.domains or bool(self.domains & domains())

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
        rules: Sequence[_Rule],
        index: KeywordIndex,
        version: str,
        classifier: DomainClassifier | None,
    ) -> None:
        self.version = version
        self._rules = tuple(rules)
        self._index = index
        self._classifier = classifier
        postings: dict[int, set[int]] = {}
        self._unkeyed: list[int] = []
        for i, rule in enumerate(self._rules):
            terms = {c.term for c in (*rule.any, *rule.all)}
            for term in terms:
                postings.setdefault(term, set()).add(i)
            if not terms:
                self._unkeyed.append(i)
        self._postings = {t: tuple(sorted(r)) for t, r in postings.items()}

    def __len__(self) -> int:
        return len(self._rules)

    def _scan(self, item: ItemText) -> HitMap:
        hits: HitMap = {}
        for field, text in (("title", item.title), ("body", item.body)):
            for term, hit in self._index.scan(field, text).items():
                hits[(term, field)] = hit
        return hits

    def _candidates(self, hits: HitMap) -> list[int]:
        found: set[int] = set(self._unkeyed)
        for term in {t for t, _ in hits}:
            found.update(self._postings.get(term, ()))
        return sorted(found)

    def _domain_source(self, item: ItemText) -> Callable[[], frozenset[str]]:
        cached: list[frozenset[str]] = []

        def domains() -> frozenset[str]:
            if not cached:
                hits = self._classifier.classify(item) if self._classifier else []
                cached.append(frozenset(item.domains) | {h.domain for h in hits})
            return cached[0]

        return domains

    def match(self, item: ItemText) -> list[GroupMatch]:
        """The groups an item goes to, each with the reasons its rules fired."""
        hits = self._scan(item)
        domains = self._domain_source(item)
        by_group: dict[str, tuple[list[Reason], list[str]]] = {}
        for i in self._candidates(hits):
            rule = self._rules[i]
            reasons = rule.reasons(hits)
            if reasons is not None and rule.passes_filters(item, domains):
                found, fired = by_group.setdefault(rule.group, ([], []))
                found.extend(reasons)
                fired.append(rule.text)
        return [
            GroupMatch(g, tuple(found), _score(found), tuple(fired))
            for g, (found, fired) in by_group.items()
        ]


def _score(reasons: list[Reason]) -> float:
    return sum(TITLE_WEIGHT if r.field == "title" else BODY_WEIGHT for r in reasons)


def _conds(keywords: tuple[str, ...], spec: RuleSpec, index: KeywordIndex) -> tuple[_Cond, ...]:
    out = []
    for keyword in keywords:
        fields, word = split_scope(keyword, tuple(spec.fields) or FIELDS)
        out.append(_Cond(keyword, index.term_id(word), fields))
    return tuple(out)


def spec_version(specs: Sequence[RuleSpec]) -> str:
    """A content hash of the specs in order, plus the shipped word lists."""
    payload = json.dumps([asdict(s) for s in specs], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256((payload + data_hash()).encode("utf-8")).hexdigest()[:16]


def compile_rules(specs: Sequence[RuleSpec], *, tokenizer: Tokenizer) -> Matcher:
    """Validate and compile every spec into one :class:`Matcher` (deterministic)."""
    for spec in specs:
        check_spec(spec)
    words = [split_scope(k, FIELDS)[1] for s in specs for k in (*s.any, *s.all, *s.none)]
    index = KeywordIndex(words, synonyms=load_synonyms(), tokenizer=tokenizer)
    rules = [
        _Rule(
            group=s.group,
            text=format_rule(s),
            any=_conds(s.any, s, index),
            all=_conds(s.all, s, index),
            none=_conds(s.none, s, index),
            region=s.region,
            domains=frozenset(s.domains),
            urgency=s.urgency,
        )
        for s in specs
    ]
    needs_domains = any(s.domains for s in specs)
    classifier = DomainClassifier(tokenizer=tokenizer) if needs_domains else None
    return Matcher(rules, index, spec_version(specs), classifier)
