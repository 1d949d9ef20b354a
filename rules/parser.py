"""The compact rule language: parse it into a :class:`RuleSpec` and format it back.

Grammar (see the package docstring for examples)::

    rule    := clause ("&" clause)*
    clause  := "!" term | term ("|" term)* | filter
    term    := [("title" | "body") ":"] (word | quoted)
    filter  := ("in" | "region" | "domain" | "urgency") ":" value
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache

from rules.lexer import FIELD_KEYS as _FIELD_KEYS
from rules.lexer import FILTER_KEYS as _FILTER_KEYS
from rules.lexer import RuleSyntaxError as RuleSyntaxError
from rules.lexer import Token as _Token
from rules.lexer import lex
from rules.model import DOMAINS, FIELDS, URGENCIES, RuleSpec

_REGION_RE = re.compile(r"^[0-9A-Za-z_.-]+$")
_NEEDS_QUOTES = re.compile(r"[\s|&!｜＆！\"“”\\:]")


def _split_clauses(tokens: list[_Token], text: str) -> list[list[_Token]]:
    clauses: list[list[_Token]] = [[]]
    for tok in tokens:
        if tok.kind == "op" and tok.value == "&":
            if not clauses[-1]:
                raise RuleSyntaxError("expected a keyword before '&'", tok.pos, text)
            clauses.append([])
        else:
            clauses[-1].append(tok)
    if not clauses[-1]:
        where = tokens[-1].pos + 1 if tokens else 0
        msg = "expected a keyword after '&'" if tokens else "the rule is empty"
        raise RuleSyntaxError(msg, where, text)
    return clauses


class _Builder:
    """Accumulates the parts of a RuleSpec while clauses are read."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.any: list[str] = []
        self.all: list[str] = []
        self.none: list[str] = []
        self.fields: tuple[str, ...] | None = None
        self.region: str | None = None
        self.domains: list[str] = []
        self.urgency: str | None = None

    def fail(self, message: str, pos: int) -> RuleSyntaxError:
        return RuleSyntaxError(message, pos, self.text)

    def keyword(self, tok: _Token) -> str:
        if tok.key in _FILTER_KEYS:
            raise self.fail(f"'{tok.key}:' is a filter and cannot be combined here", tok.pos)
        if not tok.value.strip():
            raise self.fail("empty keyword", tok.pos)
        return f"{tok.key}:{tok.value}" if tok.key else tok.value

    def clause(self, clause: list[_Token]) -> None:
        first = clause[0]
        if first.kind == "op" and first.value == "!":
            self.negation(clause)
        elif first.kind == "op":
            raise self.fail(f"expected a keyword before '{first.value}'", first.pos)
        elif len(clause) == 1 and first.key in _FILTER_KEYS:
            self.filter(first)
        elif len(clause) == 1:
            self.all.append(self.keyword(first))
        else:
            self.alternatives(clause)

    def negation(self, clause: list[_Token]) -> None:
        if len(clause) < 2 or clause[1].kind != "term":
            raise self.fail("'!' must be followed by a keyword", clause[0].pos + 1)
        if len(clause) > 2:
            raise self.fail(
                "a negation takes one keyword; write '!a & !b' for several", clause[2].pos
            )
        self.none.append(self.keyword(clause[1]))

    def alternatives(self, clause: list[_Token]) -> None:
        for i, tok in enumerate(clause):
            if i % 2 == 0 and tok.kind != "term":
                what = "'!' cannot be used inside alternatives; write '!a & !b'"
                raise self.fail(what if tok.value == "!" else "expected a keyword", tok.pos)
            if i % 2 == 1 and (tok.kind != "op" or tok.value != "|"):
                raise self.fail("missing '|' or '&' between keywords", tok.pos)
        if clause[-1].kind == "op":
            raise self.fail("expected a keyword after '|'", clause[-1].pos + 1)
        terms = [self.keyword(tok) for tok in clause[::2]]
        if self.any:
            raise self.fail(
                "only one '|' group is allowed per rule; add a second rule to the group",
                clause[0].pos,
            )
        self.any = terms

    def filter(self, tok: _Token) -> None:
        if tok.key == "in":
            fields = tuple(f.strip() for f in tok.value.split(","))
            bad = [f for f in fields if f not in _FIELD_KEYS]
            if bad or self.fields is not None:
                raise self.fail("in: takes title, body or title,body, once", tok.pos)
            self.fields = fields
        elif tok.key == "region":
            if not _REGION_RE.match(tok.value) or self.region is not None:
                raise self.fail("region: takes one region code (digits)", tok.pos)
            self.region = tok.value
        elif tok.key == "domain":
            for name in tok.value.split(","):
                if name.strip() not in DOMAINS:
                    raise self.fail(f"unknown domain '{name}'", tok.pos)
                self.domains.append(name.strip())
        elif tok.value not in URGENCIES or self.urgency is not None:
            raise self.fail("urgency: takes normal or urgent, once", tok.pos)
        else:
            self.urgency = tok.value

    def build(self, group: str) -> RuleSpec:
        has_filter = self.region or self.domains or self.urgency
        if not (self.any or self.all or has_filter):
            raise self.fail("a rule needs a keyword that is not negated, or a filter", 0)
        return RuleSpec(
            group=group,
            any=tuple(self.any),
            all=tuple(self.all),
            none=tuple(self.none),
            fields=self.fields or FIELDS,
            region=self.region,
            domains=tuple(self.domains),
            urgency=self.urgency,
        )


# What one clause adds to a rule: a kind and its values. Each clause is one kind (a
# negation, a filter, one keyword or alternatives); a rule takes each of _ONCE at most once.
_Part = tuple[str, tuple[str, ...]]
_ONCE = frozenset({"any", "in", "region", "urgency"})


# An unquoted keyword without a prefix: no space, operator, quote or colon of either width.
_WORD = re.compile(r"[^\s|&!｜＆！\"“:：]+")
_WORDS = re.compile(rf"{_WORD.pattern}(?:\s*[|｜]\s*{_WORD.pattern})*")
_NEGATED_WORD = re.compile(rf"[!！]\s*({_WORD.pattern})")


# A process-wide memo, kept: a pure function of the clause's text giving immutable tuples,
# bounded in entries, and what lets a county's 100,000 rules parse each distinct clause once.
@lru_cache(maxsize=1 << 16)
def _read_clause(clause: str) -> _Part | None:
    """One clause of a rule without quotes, read alone; ``None`` when it is not valid.

    Keywords alone (``a``, ``a | b``, ``!a``) are read by regular expressions, the rest
    by the tokenizer and :class:`_Builder`.
    """
    if negated := _NEGATED_WORD.fullmatch(clause):
        return "none", (negated.group(1),)
    if _WORDS.fullmatch(clause):
        words = tuple(_WORD.findall(clause))
        return ("all", words) if len(words) == 1 else ("any", words)
    b = _Builder(clause)
    try:
        tokens = lex(clause)
        if not tokens:
            return None
        b.clause(tokens)
    except RuleSyntaxError:
        return None
    single = (b.region,) if b.region else (b.urgency,) if b.urgency else ()
    kinds = ("any", "all", "none", "in", "domain", "region" if b.region else "urgency")
    values = (b.any, b.all, b.none, b.fields or (), b.domains, single)
    return next(((kind, tuple(v)) for kind, v in zip(kinds, values, strict=True) if v), None)


def _parse_quickly(text: str, group: str) -> RuleSpec | None:
    """The spec of a rule without quotes, read clause by clause (each distinct clause once).

    Without quotes every ``&`` separates clauses, and a clause's tokens do not depend on
    its neighbours. ``None`` for a rule with quotes or any error: the full parser then
    reads it and words the error.
    """
    if '"' in text or "“" in text:
        return None
    parts: dict[str, tuple[str, ...]] = {"all": (), "none": (), "domain": ()}
    for clause in text.replace("＆", "&").split("&"):
        part = _read_clause(clause.strip())
        if part is None or (part[0] in _ONCE and part[0] in parts):
            return None
        kind, values = part
        parts[kind] = parts[kind] + values if kind not in _ONCE else values
    get = parts.get
    if not (get("any") or parts["all"] or get("region") or parts["domain"] or get("urgency")):
        return None
    region, urgency = get("region", (None,))[0], get("urgency", (None,))[0]
    fields = get("in") or FIELDS
    return RuleSpec(
        group, get("any", ()), parts["all"], parts["none"], fields, region, parts["domain"], urgency
    )


def parse_rule(text: str, *, group: str) -> RuleSpec:
    """Parse the compact form, e.g. ``养老 | 高龄补贴 | 老年人 & !招聘``.

    Raises :class:`RuleSyntaxError` saying what is wrong and where.
    """
    quick = _parse_quickly(text, group)
    return quick if quick is not None else _parse_fully(text, group)


def _parse_fully(text: str, group: str) -> RuleSpec:
    tokens = lex(text)
    builder = _Builder(text)
    for clause in _split_clauses(tokens, text):
        builder.clause(clause)
    return builder.build(group)


def validate_rule(text: str) -> list[str]:
    """Return the problems of a rule's compact text (empty when it is valid)."""
    try:
        parse_rule(text, group="")
    except RuleSyntaxError as exc:
        return [str(exc)]
    return []


@lru_cache(maxsize=1 << 16)  # a pure, bounded memo, as _read_clause's
def _format_term(keyword: str, *, negated: bool = False) -> str:
    key, sep, value = keyword.partition(":")
    prefix = ""
    if sep and key in _FIELD_KEYS and value:
        prefix, keyword = f"{key}:", value
    if _NEEDS_QUOTES.search(keyword) or not keyword:
        keyword = '"' + keyword.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return ("!" if negated else "") + prefix + keyword


def format_rule(spec: RuleSpec) -> str:
    """Write a spec in the compact form; ``parse_rule`` reads it back to ``canonical(spec)``."""
    parts: list[str] = []
    if spec.any:
        parts.append(" | ".join(_format_term(k) for k in spec.any))
    parts.extend(_format_term(k) for k in spec.all)
    parts.extend(_format_term(k, negated=True) for k in spec.none)
    if tuple(spec.fields) != FIELDS:
        parts.append("in:" + ",".join(spec.fields))
    if spec.region is not None:
        parts.append(f"region:{spec.region}")
    if spec.domains:
        parts.append("domain:" + ",".join(spec.domains))
    if spec.urgency is not None:
        parts.append(f"urgency:{spec.urgency}")
    return " & ".join(parts)


def canonical(spec: RuleSpec) -> RuleSpec:
    """The spec as parsing its formatted text gives it (a lone any-keyword is an all-keyword)."""
    if len(spec.any) == 1:
        return replace(spec, any=(), all=spec.any + spec.all)
    return spec


def check_spec(spec: RuleSpec) -> RuleSpec:
    """Validate a spec built from data (YAML) the same way as typed text; return it."""
    parse_rule(format_rule(spec), group=spec.group)
    return spec


def split_scope(keyword: str, default: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """Split an optional ``title:``/``body:`` prefix off a keyword."""
    key, sep, value = keyword.partition(":")
    if sep and key in _FIELD_KEYS and value:
        return (key,), value
    return default, keyword
