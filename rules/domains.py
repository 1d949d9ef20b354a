"""An item's domain: the one its publisher declared, else what its own words say, or none.

:func:`decide_domains` is the one place the rule "declared wins" lives: a domain declared
for the item (by its publisher today; by its catalogue entry or its source column later,
in the order of :data:`DECLARED_ORDER`) is the item's domain, and the classifier only
fills in when nothing is declared.

:class:`DomainClassifier` reads the item's words against the 26 domains' keyword lists
(``rules/data/domains.txt``) with their anchors and vetoes (``domain_context.txt``) and
keeps a domain only when it is confident and ahead of its competitors
(:mod:`rules.classify` has the decision); otherwise it abstains. Every kept domain
carries its score and the words that made it (:class:`Reason`), for the review page.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rules.classify import (
    Candidate,
    DomainContext,
    Found,
    decide,
    domain_contexts,
    in_office_name,
    score_domain,
)
from rules.index import Hit, KeywordIndex
from rules.model import DOMAINS, DomainHit, ItemText, Reason
from rules.resources import domain_keywords
from rules.synonyms import load_synonyms
from rules.text import normalize_with_offsets
from rules.tokenizer import Tokenizer

#: Who may declare an item's domain, the first with a domain winning.
DECLARED_ORDER: tuple[str, ...] = ("item", "catalogue", "source")


class DomainClassifier:
    """The built-in domain keyword lists compiled into one automaton."""

    def __init__(self, *, tokenizer: Tokenizer | None) -> None:
        lists = domain_keywords()
        contexts = domain_contexts()
        unknown = (set(lists) | set(contexts)) - set(DOMAINS)
        if unknown:
            raise ValueError(f"domain data names unknown domains: {sorted(unknown)}")
        words = [w for entries in lists.values() for w, _ in entries]
        self._index = KeywordIndex(words, synonyms=load_synonyms(), tokenizer=tokenizer)
        self._lists = {
            d: [(w, weight, self._index.term_id(w)) for w, weight in lists.get(d, ())]
            for d in DOMAINS
        }
        self._contexts = {d: contexts.get(d) or DomainContext() for d in DOMAINS}
        self._by_term = _by_term(self._lists)

    def _scan(self, item: ItemText) -> tuple[dict[int, Hit], dict[int, Hit]]:
        title = self._index.scan("title", item.title, longest=True, skip=in_office_name)
        return title, self._index.scan("body", item.body, longest=True, skip=in_office_name)

    def candidates(self, item: ItemText) -> list[Candidate]:
        """Every domain with at least one keyword found, scored, before the decision."""
        return self._candidates(item, *self._scan(item))

    def _candidates(
        self, item: ItemText, title: dict[int, Hit], body: dict[int, Hit]
    ) -> list[Candidate]:
        found: dict[str, list[tuple[int, Found]]] = {}
        for term in title.keys() | body.keys():
            hit = title.get(term) or body[term]
            for domain, order, word, weight in self._by_term.get(term, ()):
                found.setdefault(domain, []).append((order, Found(word, weight, hit.field, term)))
        norm_title = normalize_with_offsets(item.title).text
        anchored = any(
            f.word in self._contexts[d].anchors for d, fs in found.items() for _, f in fs
        )
        # the body is normalised again only when an anchor has to be looked for
        whole = f"{norm_title}\n{normalize_with_offsets(item.body).text}" if anchored else ""
        return [
            score_domain(
                d,
                [f for _, f in sorted(fs, key=lambda x: x[0])],
                context=self._contexts[d],
                title=norm_title,
                whole=whole,
            )
            for d, fs in sorted(found.items(), key=lambda x: DOMAINS.index(x[0]))
        ]

    def classify(self, item: ItemText) -> list[DomainHit]:
        """The domains the item's text is confidently about, best first; often none."""
        title, body = self._scan(item)
        kept = decide(self._candidates(item, title, body))
        return [
            DomainHit(c.domain, c.score, _reasons(c, title, body))
            for c in sorted(kept, key=lambda c: (-c.score, DOMAINS.index(c.domain)))
        ]


def _by_term(
    lists: dict[str, list[tuple[str, float, int]]],
) -> dict[int, list[tuple[str, int, str, float]]]:
    """Term → the domains it counts for, with its place in their list, word and weight;
    a term listed twice in one domain (a synonym) counts once, as first listed."""
    out: dict[int, list[tuple[str, int, str, float]]] = {}
    for domain, entries in lists.items():
        seen: set[int] = set()
        for order, (word, weight, term) in enumerate(entries):
            if term not in seen:
                seen.add(term)
                out.setdefault(term, []).append((domain, order, word, weight))
    return out


def _reasons(c: Candidate, title: dict[int, Hit], body: dict[int, Hit]) -> tuple[Reason, ...]:
    out = []
    for f in c.found:
        hit = title.get(f.term) if f.field == "title" else body.get(f.term)
        if hit is not None:
            out.append(
                Reason(f.word, hit.field, hit.offset, f"domain:{c.domain}", hit.matched_text)
            )
    return tuple(out)


@dataclass(frozen=True)
class DomainDecision:
    """An item's domains and where they came from.

    ``source`` is ``"reviewed"`` (a reviewer chose ``domains``, possibly none, before
    approval), ``"declared"`` (``declared_by`` says by whom: ``item``, ``catalogue``,
    ``source``), ``"classified"`` (``hits`` carry scores and reasons) or ``"none"``.
    """

    domains: tuple[str, ...]
    source: str
    declared_by: str | None = None
    hits: tuple[DomainHit, ...] = ()


def decide_domains(
    declared: Sequence[tuple[str, str]],
    classify: Callable[[], list[DomainHit]],
    *,
    reviewed: Sequence[str] | None = None,
) -> DomainDecision:
    """Declared wins: ``declared`` holds ``(by, domain)`` pairs (``by`` one of
    :data:`DECLARED_ORDER`); the classifier runs only when none is declared.

    ``reviewed`` is the reviewer's choice before approval (``None``: not reviewed; an
    empty sequence: the reviewer chose no domain); it wins over everything else.
    """
    if reviewed is not None:
        return DomainDecision(tuple(dict.fromkeys(d for d in reviewed if d)), "reviewed")
    for by in DECLARED_ORDER:
        mine = tuple(dict.fromkeys(d for who, d in declared if who == by and d))
        if mine:
            return DomainDecision(mine, "declared", by)
    hits = tuple(classify())
    if not hits:
        return DomainDecision((), "none")
    return DomainDecision(tuple(h.domain for h in hits), "classified", None, hits)


def item_domains(item: ItemText, classifier: DomainClassifier | None) -> tuple[str, ...]:
    """The domains of an :class:`ItemText`: its declared ones, else the classified ones."""
    declared = [("item", d) for d in item.domains]
    return decide_domains(declared, lambda: classifier.classify(item) if classifier else []).domains


_classifiers: weakref.WeakKeyDictionary[object, DomainClassifier] = weakref.WeakKeyDictionary()


def classifier_for(tokenizer: Tokenizer) -> DomainClassifier:
    """The classifier compiled once per tokenizer and reused."""
    classifier = _classifiers.get(tokenizer)
    if classifier is None:
        classifier = _classifiers[tokenizer] = DomainClassifier(tokenizer=tokenizer)
    return classifier


def classify_domains(item: ItemText, *, tokenizer: Tokenizer) -> list[DomainHit]:
    """Classify one item (ignoring any declared domain); often an empty list."""
    return classifier_for(tokenizer).classify(item)
