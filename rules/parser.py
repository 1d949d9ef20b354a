"""The compact rule language: parse it into a :class:`RuleSpec` and format it back.

Grammar (see the package docstring for examples)::

    rule    := clause ("&" clause)*
    clause  := "!" term | term ("|" term)* | filter
    term    := [("title" | "body") ":"] (word | quoted)
    filter  := ("in" | "region" | "domain" | "urgency") ":" value
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from rules.model import DOMAINS, FIELDS, URGENCIES, RuleSpec

_OPS = {"|": "|", "&": "&", "!": "!", "｜": "|", "＆": "&", "！": "!"}
_QUOTES = {'"': '"', "“": "”"}
_FIELD_KEYS = frozenset(FIELDS)
_FILTER_KEYS = frozenset({"in", "region", "domain", "urgency"})
_REGION_RE = re.compile(r"^[0-9A-Za-z_.-]+$")
_NEEDS_QUOTES = re.compile(r"[\s|&!｜＆！\"“”\\:]")


class RuleSyntaxError(ValueError):
    """A rule that cannot be parsed; ``position`` is the 0-based offset of the problem."""

    def __init__(self, message: str, position: int, text: str = "") -> None:
        self.message = message
        self.position = position
        self.text = text
        where = f"at position {position}"
        if text:
            where += f": {text[:position]}▶{text[position:]}"
        super().__init__(f"{message} ({where})")

    def __reduce__(self) -> tuple[type[RuleSyntaxError], tuple[str, int, str]]:
        # Picklable with its fields (job queues pickle exceptions).
        return (RuleSyntaxError, (self.message, self.position, self.text))


@dataclass(frozen=True)
class _Token:
    kind: str  # "op" or "term"
    value: str
    pos: int
    key: str | None = None


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    close = _QUOTES[text[start]]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if c == close:
            return "".join(out), i + 1
        out.append(c)
        i += 1
    raise RuleSyntaxError("unclosed quote", start, text)


def _is_word_char(c: str) -> bool:
    return not c.isspace() and c not in _OPS and c not in _QUOTES


def _ascii_colon_after_key(word: str) -> str:
    """``title：低保`` (full-width colon, as Chinese input methods type it) → ``title:低保``."""
    key, sep, value = word.partition("：")
    if sep and ":" not in key and (key in _FIELD_KEYS or key in _FILTER_KEYS):
        return f"{key}:{value}"
    return word


def _read_term(text: str, start: int) -> tuple[_Token, int]:
    if text[start] in _QUOTES:
        value, end = _read_quoted(text, start)
        return _Token("term", value, start), end
    end = start
    while end < len(text) and _is_word_char(text[end]):
        end += 1
    word = _ascii_colon_after_key(text[start:end])
    if ":" not in word:
        return _Token("term", word, start), end
    key, _, value = word.partition(":")
    if key not in _FIELD_KEYS and key not in _FILTER_KEYS:
        raise RuleSyntaxError(
            f"unknown prefix '{key}:' (use title:, body:, in:, region:, domain:, urgency:;"
            " quote a keyword that contains ':')",
            start,
            text,
        )
    if not value:
        if end < len(text) and text[end] in _QUOTES:
            value, end = _read_quoted(text, end)
        else:
            raise RuleSyntaxError(f"expected a value after '{key}:'", end, text)
    return _Token("term", value, start, key), end


def _lex(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
        elif c in _OPS:
            tokens.append(_Token("op", _OPS[c], i))
            i += 1
        else:
            token, i = _read_term(text, i)
            tokens.append(token)
    return tokens


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


def parse_rule(text: str, *, group: str) -> RuleSpec:
    """Parse the compact form, e.g. ``养老 | 高龄补贴 | 老年人 & !招聘``.

    Raises :class:`RuleSyntaxError` saying what is wrong and where.
    """
    tokens = _lex(text)
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
