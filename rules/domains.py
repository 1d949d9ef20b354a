"""Classifying an item into the 26 standard domains from its own words.

Each domain has a keyword list (``rules/data/domains.txt``) built from the domain's own
vocabulary, each keyword weighted 1 (common, ambiguous) to 3 (names the domain). A
domain's score is the sum of its distinct keywords found, a title hit counting double;
the item is in every domain scoring at least :data:`THRESHOLD`. So one ambiguous word in
the body is not enough, and an item about nothing in the 26 domains stays unclassified.
"""

from __future__ import annotations

import weakref

from rules.index import Hit, KeywordIndex
from rules.model import DOMAINS, DomainHit, ItemText, Reason
from rules.resources import domain_keywords
from rules.synonyms import load_synonyms
from rules.tokenizer import Tokenizer

THRESHOLD = 2.0
TITLE_FACTOR = 2.0


class DomainClassifier:
    """The built-in domain keyword lists compiled into one automaton."""

    def __init__(self, *, tokenizer: Tokenizer | None) -> None:
        lists = domain_keywords()
        unknown = set(lists) - set(DOMAINS)
        if unknown:
            raise ValueError(f"domains.txt names unknown domains: {sorted(unknown)}")
        words = [w for entries in lists.values() for w, _ in entries]
        self._index = KeywordIndex(words, synonyms=load_synonyms(), tokenizer=tokenizer)
        self._lists = {
            d: [(w, weight, self._index.term_id(w)) for w, weight in lists.get(d, ())]
            for d in DOMAINS
        }

    def classify(self, item: ItemText) -> list[DomainHit]:
        """Every domain the item's text is about, best first, with the keywords found."""
        title = self._index.scan("title", item.title, longest=True)
        body = self._index.scan("body", item.body, longest=True)
        found = []
        for domain, entries in self._lists.items():
            score, reasons = _score(domain, entries, title, body)
            if score >= THRESHOLD:
                found.append(DomainHit(domain, score, tuple(reasons)))
        return sorted(found, key=lambda h: (-h.score, DOMAINS.index(h.domain)))


def _score(
    domain: str,
    entries: list[tuple[str, float, int]],
    title: dict[int, Hit],
    body: dict[int, Hit],
) -> tuple[float, list[Reason]]:
    score = 0.0
    reasons: list[Reason] = []
    seen: set[int] = set()
    for word, weight, term in entries:
        hit = title.get(term) or body.get(term)
        if hit is None or term in seen:
            continue
        seen.add(term)
        score += weight * (TITLE_FACTOR if hit.field == "title" else 1.0)
        reasons.append(Reason(word, hit.field, hit.offset, f"domain:{domain}", hit.matched_text))
    return score, reasons


_classifiers: weakref.WeakKeyDictionary[object, DomainClassifier] = weakref.WeakKeyDictionary()


def classify_domains(item: ItemText, *, tokenizer: Tokenizer) -> list[DomainHit]:
    """Classify one item; the classifier is compiled once per tokenizer and reused."""
    classifier = _classifiers.get(tokenizer)
    if classifier is None:
        classifier = _classifiers[tokenizer] = DomainClassifier(tokenizer=tokenizer)
    return classifier.classify(item)
