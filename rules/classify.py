"""Scoring the 26 domains against one item: weights, anchors, vetoes, margin, abstention.

The keyword lists (``rules/data/domains.txt``) give each word a weight; the context file
(``rules/data/domain_context.txt``) says which generic words count only next to an
anchor (教育 is 义务教育 only with 小学, 入学, …) and which title words veto a domain
(高等, 自考 veto 义务教育). The decision:

1. a domain's score is the sum of its distinct keywords found, a title hit weighing
   :data:`TITLE_FACTOR` and a body hit :data:`BODY_FACTOR`; a keyword with anchors
   counts only when one of its anchors is in the item;
   a word that is part of an office's or a company's name (生态环境 in
   自然资源与生态环境局, 环保 in 美佳环保科技有限公司) does not count at all
   (:func:`in_office_name`): it says who issued the item or whom it concerns, not its subject;
2. a domain whose veto word is in the title is dropped, unless a word of weight
   :data:`NAMES_DOMAIN` (the domain's own name) is in the title too;
3. domains scoring below :data:`THRESHOLD` are dropped: one generic word, or one specific
   word seen only in the body, never decides;
4. the best domain is kept, and any other only when it scores at least :data:`SHARE` of
   the best: domains compete instead of passing independent thresholds; a domain of a
   procedure (:data:`EXCLUSIVE`: 公共资源交易) standing is kept alone. An item with
   nothing left gets no domain (it still reaches region and keyword-rule groups).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType

from rules.resources import read_lines
from rules.text import normalize

#: an office's or a company's name right after a word (自然资源与生态环境局, 卫生健康委员会,
#: 残疾人联合会, 美佳环保科技有限公司): the word names who issued the notice or whom it
#: concerns, not what it is about, so it does not count
_OFFICE = re.compile(
    "(?:[\u4e00-\u9fa5]{0,4}?(?<![布格大全结开变当时邮政饭赌])[局厅](?![部面势限域])"
    "|[\u4e00-\u9fa5]{0,4}?(?:委员会|联合会|办公室|有限公司|有限责任公司|股份公司)"
    "|委(?![托派屈]))"
)
#: domains of a procedure: a tender or purchase notice is about the procedure, not about
#: what is bought (a 养老服务 tender is for bidders, not for the elderly), so it stands alone
EXCLUSIVE = frozenset({"公共资源交易"})
TITLE_FACTOR = 1.5
BODY_FACTOR = 0.75
THRESHOLD = 3.0
SHARE = 0.75
NAMES_DOMAIN = 3.0
CONTEXT_FILE = "domain_context.txt"


@dataclass(frozen=True)
class DomainContext:
    """One domain's anchors (word → words one of which must be present) and vetoes."""

    anchors: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    vetoes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Found:
    """One keyword of a domain found in an item, with the weight it adds."""

    word: str
    weight: float
    field: str
    term: int


@dataclass(frozen=True)
class Candidate:
    """A domain's score over the keywords that counted, before the decision."""

    domain: str
    score: float
    found: tuple[Found, ...]
    vetoed_by: str | None = None


@cache  # package data, read-only: see rules.resources for why this cache is kept
def domain_contexts() -> Mapping[str, DomainContext]:
    """Anchors and vetoes per domain, from ``domain_context.txt`` (normalised)."""
    raw: dict[str, tuple[dict[str, tuple[str, ...]], list[str]]] = {}
    current: tuple[dict[str, tuple[str, ...]], list[str]] | None = None
    for line in read_lines(CONTEXT_FILE):
        if line.startswith("[") and line.endswith("]"):
            current = raw.setdefault(line[1:-1], ({}, []))
        elif current is None:
            raise ValueError(f"{CONTEXT_FILE}: line before any [domain]: {line}")
        elif line.startswith("!"):
            current[1].extend(normalize(w) for w in line[1:].split())
        elif "?" in line:
            word, _, anchors = line.partition("?")
            current[0][normalize(word.strip())] = tuple(normalize(a) for a in anchors.split())
        else:
            raise ValueError(f"{CONTEXT_FILE}: expected 'WORD ? ANCHORS' or '! VETOES': {line}")
    return MappingProxyType(
        {d: DomainContext(MappingProxyType(a), tuple(v)) for d, (a, v) in raw.items()}
    )


def score_domain(
    domain: str,
    found: Iterable[Found],
    *,
    context: DomainContext,
    title: str,
    whole: str,
) -> Candidate:
    """A domain's score from its keywords found (``title``/``whole`` normalised text)."""
    counted = [f for f in found if _anchored(f.word, context, whole)]
    score = sum(f.weight * (TITLE_FACTOR if f.field == "title" else BODY_FACTOR) for f in counted)
    veto = next((v for v in context.vetoes if v in title), None)
    if veto is not None and any(f.field == "title" and f.weight >= NAMES_DOMAIN for f in counted):
        veto = None
    return Candidate(domain, round(score, 3), tuple(counted), veto)


def in_office_name(text: str, start: int, end: int) -> bool:
    """Whether the word at ``text[start:end]`` is part of an office's or a company's name
    (its text goes on, within four characters, into 局, 厅, 委, 委员会, 联合会, 办公室 or
    a company's legal form, 有限公司 …)."""
    return _OFFICE.match(text, end, min(len(text), end + 10)) is not None


def _anchored(word: str, context: DomainContext, whole: str) -> bool:
    anchors = context.anchors.get(_keyword(word))
    return anchors is None or any(a in whole for a in anchors)


@cache
def _keyword(word: str) -> str:
    """A keyword of the domain lists, normalised (the lists are small and fixed)."""
    return normalize(word)


def decide(candidates: Iterable[Candidate]) -> list[Candidate]:
    """The domains kept, best first: confident, not vetoed, within :data:`SHARE` of the best;
    an :data:`EXCLUSIVE` domain standing is kept alone."""
    standing = [c for c in candidates if c.vetoed_by is None and c.score >= THRESHOLD]
    if not standing:
        return []
    exclusive = [c for c in standing if c.domain in EXCLUSIVE]
    if exclusive:
        return exclusive[:1]
    standing.sort(key=lambda c: -c.score)
    best = standing[0].score
    return [c for c in standing if c.score >= SHARE * best]
