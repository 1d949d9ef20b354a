"""Compiling rule specs (or rule texts) into one :class:`~rules.matcher.Matcher`.

A county has 100,000 rules but few distinct keywords, clauses and scopes, so every
piece of work is done once per distinct value and shared: a keyword's term, a condition
(keyword in its fields), a rule's domain set, a formatted term, a parsed clause. The
result is the same, rule for rule, as compiling each spec on its own.

Compiling is pure and synchronous; a service runs it in a thread. It holds the GIL in
short steps only (the version hash is encoded in chunks), so the event loop keeps
running while it works.
"""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext

from rules.domains import DomainClassifier
from rules.index import KeywordIndex
from rules.matcher import CompiledRule, Condition, Matcher
from rules.model import FIELDS, RuleSpec
from rules.parser import format_rule, parse_rule, split_scope
from rules.resources import data_hash
from rules.synonyms import load_synonyms
from rules.tokenizer import Tokenizer

_HASH_CHUNK = 1_000
# From this many rules a build pauses the cyclic collector and freezes what it built.
LONG_LIVED_RULES = 5_000


def spec_version(specs: Sequence[RuleSpec]) -> str:
    """A content hash of the specs in order, plus the shipped word lists.

    The same value as hashing ``json.dumps`` of every spec as a dict, written chunk by
    chunk so that no single call holds the GIL for long.
    """
    digest = hashlib.sha256(b"[")
    for start in range(0, len(specs), _HASH_CHUNK):
        chunk = [vars(s) for s in specs[start : start + _HASH_CHUNK]]
        text = json.dumps(chunk, ensure_ascii=False, sort_keys=True)[1:-1]
        digest.update(((", " if start else "") + text).encode("utf-8"))
    digest.update(("]" + data_hash()).encode("utf-8"))
    return digest.hexdigest()[:16]


def compile_rules(specs: Sequence[RuleSpec], *, tokenizer: Tokenizer | None) -> Matcher:
    """Validate and compile every spec into one :class:`Matcher` (deterministic).

    ``tokenizer=None`` skips jieba: every substring hit counts, short keywords too.
    Raises :class:`~rules.parser.RuleSyntaxError` for a spec that its compact text
    would not give (as :func:`~rules.parser.check_spec`).
    """
    with collection_policy(len(specs)):
        texts = [format_rule(spec) for spec in specs]
        for spec, text in zip(specs, texts, strict=True):
            parse_rule(text, group=spec.group)
        return _compile(specs, texts, tokenizer)


def compile_texts(rules: Sequence[tuple[str, str]], *, tokenizer: Tokenizer | None) -> Matcher:
    """Parse ``(rule text, group)`` pairs and compile them: one call for one thread.

    Raises :class:`~rules.parser.RuleSyntaxError` for the first text that does not parse.
    """
    return RuleTexts().compile(rules, tokenizer=tokenizer)


class RuleTexts:
    """Rule texts parsed by the last build, so that the next parses only what changed.

    Parsing and formatting are half of a build from texts; after an edit of one rule in
    100,000, only that rule is parsed again. Not for two threads at once.
    """

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], tuple[RuleSpec, str]] = {}

    def compile(self, rules: Sequence[tuple[str, str]], *, tokenizer: Tokenizer | None) -> Matcher:
        """Like :func:`compile_texts`; remembers these rules' specs for the next call."""
        with collection_policy(len(rules)):
            parsed = [self._read(key) for key in rules]
            self._known = dict(zip(rules, parsed, strict=True))
            specs, texts = [spec for spec, _ in parsed], [text for _, text in parsed]
            return _compile(specs, texts, tokenizer)

    def _read(self, key: tuple[str, str]) -> tuple[RuleSpec, str]:
        found = self._known.get(key)
        if found is None:
            spec = parse_rule(key[0], group=key[1])
            found = (spec, format_rule(spec))
        return found


def collection_policy(rules: int) -> AbstractContextManager[None]:
    """:func:`long_lived` for a county's rules; nothing for a few (a preview's, a test's)."""
    return long_lived() if rules >= LONG_LIVED_RULES else nullcontext()


@contextmanager
def long_lived() -> Iterator[None]:
    """Keep the cyclic garbage collector off what is built inside, while and after.

    Building 100,000 rules allocates millions of objects, none of them garbage; each
    burst of allocations would start a collection that walks the whole heap with the
    GIL held, stalling the event loop for hundreds of milliseconds (and taking a third
    of the time). So collection pauses while building, and what was built is frozen
    (:func:`gc.freeze`) instead of being walked by the next collection. A matcher holds
    no reference cycles: reference counting frees it when it is replaced. The cost: a
    cycle that another thread dropped during the build is never collected.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


class _Conditions:
    """One :class:`Condition` per distinct keyword and field scope, shared by every rule."""

    def __init__(self, index: KeywordIndex) -> None:
        self.index = index
        self._one: dict[tuple[str, tuple[str, ...]], Condition] = {}
        self._many: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[Condition, ...]] = {}

    def __call__(self, keywords: tuple[str, ...], fields: tuple[str, ...]) -> tuple[Condition, ...]:
        """The conditions of a rule's keywords (a tuple shared by rules that repeat them)."""
        if not keywords:
            return ()
        found = self._many.get((keywords, fields))
        if found is None:
            found = tuple(self._one_of(k, fields) for k in keywords)
            self._many[(keywords, fields)] = found
        return found

    def _one_of(self, keyword: str, fields: tuple[str, ...]) -> Condition:
        cond = self._one.get((keyword, fields))
        if cond is None:
            scope, word = split_scope(keyword, fields or FIELDS)
            cond = Condition(keyword, self.index.term_id(word), scope)
            self._one[(keyword, fields)] = cond
        return cond


def _keyword_index(specs: Sequence[RuleSpec], tokenizer: Tokenizer | None) -> KeywordIndex:
    keywords = dict.fromkeys(k for s in specs for part in (s.any, s.all, s.none) for k in part)
    words = dict.fromkeys(split_scope(k, FIELDS)[1] for k in keywords)
    return KeywordIndex(words, synonyms=load_synonyms(), tokenizer=tokenizer)


def _compile(
    specs: Sequence[RuleSpec], texts: Sequence[str], tokenizer: Tokenizer | None
) -> Matcher:
    conds = _Conditions(_keyword_index(specs, tokenizer))
    domain_sets: dict[tuple[str, ...], frozenset[str]] = {(): frozenset()}
    rules = []
    for s, text in zip(specs, texts, strict=True):
        fields, domains = tuple(s.fields), tuple(s.domains)
        if domains not in domain_sets:
            domain_sets[domains] = frozenset(domains)
        rule = CompiledRule(
            group=s.group,
            text=text,
            any=conds(s.any, fields),
            all=conds(s.all, fields),
            none=conds(s.none, fields),
            region=s.region,
            domains=domain_sets[domains],
            urgency=s.urgency,
        )
        rules.append(rule)
    needs_domains = len(domain_sets) > 1
    classifier = DomainClassifier(tokenizer=tokenizer) if needs_domains else None
    return Matcher(rules, conds.index, spec_version(specs), classifier)
