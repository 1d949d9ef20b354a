"""Splitting a rule's compact text into tokens (the first step of :mod:`rules.parser`)."""

from __future__ import annotations

from typing import NamedTuple

from rules.model import FIELDS

OPS = {"|": "|", "&": "&", "!": "!", "｜": "|", "＆": "&", "！": "!"}
QUOTES = {'"': '"', "“": "”"}
FIELD_KEYS = frozenset(FIELDS)
FILTER_KEYS = frozenset({"in", "region", "domain", "urgency"})


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


class Token(NamedTuple):
    """An operator (``kind`` "op") or a term with its optional ``key:`` prefix."""

    kind: str
    value: str
    pos: int
    key: str | None = None


def lex(text: str) -> list[Token]:
    """The tokens of a rule's text; raises :class:`RuleSyntaxError`."""
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
        elif c in OPS:
            tokens.append(Token("op", OPS[c], i))
            i += 1
        else:
            token, i = _read_term(text, i)
            tokens.append(token)
    return tokens


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    close = QUOTES[text[start]]
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
    return not c.isspace() and c not in OPS and c not in QUOTES


def _ascii_colon_after_key(word: str) -> str:
    """``title：低保`` (full-width colon, as Chinese input methods type it) → ``title:低保``."""
    key, sep, value = word.partition("：")
    if sep and ":" not in key and (key in FIELD_KEYS or key in FILTER_KEYS):
        return f"{key}:{value}"
    return word


def _read_term(text: str, start: int) -> tuple[Token, int]:
    if text[start] in QUOTES:
        value, end = _read_quoted(text, start)
        return Token("term", value, start), end
    end = start
    while end < len(text) and _is_word_char(text[end]):
        end += 1
    word = _ascii_colon_after_key(text[start:end])
    if ":" not in word:
        return Token("term", word, start), end
    key, _, value = word.partition(":")
    if key not in FIELD_KEYS and key not in FILTER_KEYS:
        raise RuleSyntaxError(
            f"unknown prefix '{key}:' (use title:, body:, in:, region:, domain:, urgency:;"
            " quote a keyword that contains ':')",
            start,
            text,
        )
    if not value:
        if end < len(text) and text[end] in QUOTES:
            value, end = _read_quoted(text, end)
        else:
            raise RuleSyntaxError(f"expected a value after '{key}:'", end, text)
    return Token("term", value, start, key), end
