"""Text normalisation that remembers where each normalised character came from."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

#: How many distinct characters the memo tables below remember. Normalising is a pure
#: function of one character, so a process-wide memo cannot go stale or leak anything
#: between callers; the cap keeps hostile text (every code point once) from growing it
#: without bound. A county's texts use a few thousand distinct characters.
MEMO_CHARS = 1 << 14


@dataclass(frozen=True)
class NormalText:
    """Normalised text and, for each of its characters, the offset in the original."""

    text: str
    origin: Sequence[int]  # a range when every character normalised to one

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original ``[start, end)`` span covering normalised ``[start, end)``."""
        return self.origin[start], self.origin[end - 1] + 1


@lru_cache(maxsize=MEMO_CHARS)
def normalize_char(c: str) -> str:
    """Full-width → half-width (NFKC), then case-folded; may give 0, 1 or more characters."""
    if c.isascii():
        return c.lower()
    return unicodedata.normalize("NFKC", c).casefold()


def normalize(text: str) -> str:
    """Normalise a keyword or text without keeping offsets."""
    return "".join(normalize_char(c) for c in text)


class _Table(dict[int, str]):
    """``str.translate`` table filled on first sight of each character."""

    def __init__(self) -> None:
        super().__init__()
        self.odd: set[str] = set()  # characters that do not normalise to one character

    def __missing__(self, key: int) -> str:
        value = normalize_char(chr(key))
        if len(value) != 1:
            self.odd.add(chr(key))  # at most the few thousand such characters Unicode has
        if len(self) < MEMO_CHARS:  # full: still right, only not remembered
            self[key] = value
        return value


@cache  # one table for the process: see MEMO_CHARS for why this memo is kept
def _table() -> _Table:
    return _Table()


@lru_cache(maxsize=16)
def normalize_with_offsets(text: str) -> NormalText:
    """Normalise ``text`` character by character, keeping a map back to the original.

    The last few texts are remembered: matching and domain classification normalise the
    same title and body several times per item."""
    table = _table()
    norm = text.translate(table)
    if table.odd.isdisjoint(text):  # the common case: one character for one
        return NormalText(norm, range(len(text)))
    out: list[str] = []
    origin: list[int] = []
    for i, c in enumerate(text):
        n = normalize_char(c)
        out.append(n)
        origin.extend([i] * len(n))
    return NormalText("".join(out), tuple(origin))
