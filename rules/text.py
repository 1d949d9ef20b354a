"""Text normalisation that remembers where each normalised character came from."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class NormalText:
    """Normalised text and, for each of its characters, the offset in the original."""

    text: str
    origin: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original ``[start, end)`` span covering normalised ``[start, end)``."""
        return self.origin[start], self.origin[end - 1] + 1


def normalize_char(c: str) -> str:
    """Full-width → half-width (NFKC), then case-folded; may give 0, 1 or more characters."""
    if c.isascii():
        return c.lower()
    return unicodedata.normalize("NFKC", c).casefold()


def normalize(text: str) -> str:
    """Normalise a keyword or text without keeping offsets."""
    return "".join(normalize_char(c) for c in text)


def normalize_with_offsets(text: str) -> NormalText:
    """Normalise ``text`` character by character, keeping a map back to the original."""
    out: list[str] = []
    origin: list[int] = []
    for i, c in enumerate(text):
        n = normalize_char(c)
        out.append(n)
        origin.extend([i] * len(n))
    return NormalText("".join(out), tuple(origin))
