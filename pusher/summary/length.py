"""Lengths as each channel counts them, and cutting text only between whole units.

A unit is a jieba word or a protected span (number, date, amount, phone number, link,
ASCII word). Text is only ever cut between units, so no word or number is split.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from pusher.summary.patterns import FACT_SPAN_RE, TOKEN_SPAN_RE

if TYPE_CHECKING:
    import jieba

SMS_SINGLE = 70
SMS_PART = 67
ELLIPSIS = "…"
# Left dangling at the end of a cut text these read as broken, so they go too.
_DANGLING = set("的和与及或对为在于到把被将、，,；;：:（(《“ ")

Measure = Callable[[str], int]


def sms_length(text: str) -> int:
    """Characters as carriers count them: UTF-16 code units (an emoji counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def utf8_length(text: str) -> int:
    """Bytes of the UTF-8 encoding (WeCom's limit)."""
    return len(text.encode("utf-8"))


def sms_segments(text: str) -> int:
    """Number of billed SMS segments: ≤70 characters is one, longer is ceil(n / 67).

    The signature 【…】 is part of ``text`` and counts. An empty text is 0 segments.
    """
    n = sms_length(text)
    if n == 0:
        return 0
    return 1 if n <= SMS_SINGLE else math.ceil(n / SMS_PART)


def sms_capacity(max_segments: int) -> int:
    """The most characters that fit in ``max_segments`` segments."""
    if max_segments < 1:
        raise ValueError("max_segments must be at least 1")
    return SMS_SINGLE if max_segments == 1 else SMS_PART * max_segments


def split_units(text: str, tokenizer: jieba.Tokenizer | None) -> tuple[str, ...]:
    """Split ``text`` into unbreakable units; ``"".join(units) == text``.

    Without a tokenizer the text between protected spans falls apart into single
    characters, which is only safe for text that holds no multi-character words.
    """
    units: list[str] = []
    for chunk, is_fact in _spans(text, FACT_SPAN_RE):
        if is_fact:
            units.append(chunk)
            continue
        for piece, is_token in _spans(chunk, TOKEN_SPAN_RE):
            units.extend([piece] if is_token else _words(piece, tokenizer))
    return tuple(u for u in units if u)


def _spans(text: str, pattern: re.Pattern[str]) -> Iterator[tuple[str, bool]]:
    """``text`` as consecutive (chunk, matched) pairs."""
    pos = 0
    for match in pattern.finditer(text):
        if match.start() > pos:
            yield text[pos : match.start()], False
        yield match.group(), True
        pos = match.end()
    if pos < len(text):
        yield text[pos:], False


def _words(text: str, tokenizer: jieba.Tokenizer | None) -> list[str]:
    if tokenizer is None:
        return list(text)
    return [str(w) for w in tokenizer.lcut(text, HMM=True)]


def fit_units(
    units: Sequence[str],
    limit: int,
    *,
    measure: Measure = len,
    ellipsis: str = ELLIPSIS,
) -> str:
    """The longest whole-unit prefix of ``units`` within ``limit``.

    When units are dropped the text ends with ``ellipsis`` (counted in the limit) and
    dangling function words or punctuation before it are removed. Returns "" when not
    even the first unit fits.
    """
    full = "".join(units)
    if measure(full) <= limit:
        return full
    room = limit - measure(ellipsis)
    kept: list[str] = []
    used = 0
    for unit in units:
        size = measure(unit)
        if used + size > room:
            break
        kept.append(unit)
        used += size
    while kept and (kept[-1].strip() == "" or kept[-1] in _DANGLING):
        kept.pop()
    return "".join(kept) + ellipsis if kept else ""


def units_of(
    text: str, stored: Sequence[str], tokenizer: jieba.Tokenizer | None
) -> tuple[str, ...]:
    """Reuse ``stored`` units when they spell ``text``; otherwise split again."""
    if stored and "".join(stored) == text:
        return tuple(stored)
    return split_units(text, tokenizer)
