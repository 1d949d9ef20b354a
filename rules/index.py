"""One Aho-Corasick automaton over every keyword, with jieba used only to veto cuts.

A keyword is found wherever it occurs as a substring of the normalised field text. A hit
of a short keyword (1–2 characters) is vetoed only when jieba's segmentation shows it cuts
a longer word: it starts or ends inside a word it does not cover whole (``和服`` in
``他和服务员`` → 他/和/服务员), or it lies inside a word listed as a false friend
(``保险`` in ``保险柜``). A short keyword inside an ordinary word still matches (``低保``
in ``低保户`` and ``农村低保``, ``养老`` in ``养老金``). A short keyword that is a policy
term of our dictionary (``rules/data``) is trusted over jieba's guess and may cross its
boundaries (``中标`` in 关于/中/标的/通知); only false friends veto it. Keywords of three
characters or more always match as substrings.
"""

from __future__ import annotations

import re
import weakref
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from rules.ahocorasick import build_automaton
from rules.resources import dictionary_words, read_lines
from rules.synonyms import SynonymTable
from rules.text import NormalText, normalize, normalize_with_offsets
from rules.tokenizer import Tokenizer, word_spans

SHORT_KEYWORD = 2


@dataclass(frozen=True)
class Hit:
    """The first place a term was found in one field (offsets into the original text)."""

    term: int
    field: str
    offset: int
    matched_text: str


# jieba segments each run of these characters on its own (its ``re_han_default``), so
# segmenting only the run that holds a hit gives the same words as the whole text.
_JIEBA_BLOCK = re.compile("[\u4e00-\u9fd5a-zA-Z0-9+#&._%\\-]+")


_longest_words: weakref.WeakKeyDictionary[Tokenizer, int] = weakref.WeakKeyDictionary()


def _longest_word(tokenizer: Tokenizer) -> int:
    """The length of the longest word in the tokenizer's dictionary (computed once)."""
    if tokenizer not in _longest_words:
        _longest_words[tokenizer] = max(map(len, tokenizer.FREQ), default=1)
    return _longest_words[tokenizer]


def _alnum(c: str) -> bool:
    return c.isascii() and c.isalnum()


class _Boundaries:
    """jieba's words around short hits of one normalised text, segmented run by run."""

    def __init__(self, tokenizer: Tokenizer, text: str) -> None:
        self._tokenizer = tokenizer
        self._freq: dict[str, int] = tokenizer.FREQ
        self._longest = _longest_word(tokenizer)
        self.text = text
        self._blocks = [(m.start(), m.end()) for m in _JIEBA_BLOCK.finditer(text)]
        self._starts = [b[0] for b in self._blocks]
        self._spans: dict[int, list[tuple[int, int]]] = {}

    def clear(self, start: int, end: int) -> bool:
        """Whether no word jieba could form crosses an edge of ``[start, end)``.

        Without the HMM, jieba's words longer than one character come from its dictionary
        (``FREQ``, which also lists every prefix with frequency 0) or are runs of ASCII
        letters and digits. When no such word crosses either edge, every word lies
        outside or inside the hit, which :meth:`allows` accepts, so jieba need not run.
        """
        i = bisect_right(self._starts, start) - 1
        if i < 0 or end > self._blocks[i][1]:
            return False
        b_start, b_end = self._blocks[i]
        for edge in (start, end):
            if b_start < edge < b_end and self._crossed(edge, b_start, b_end):
                return False
        return True

    def _crossed(self, edge: int, b_start: int, b_end: int) -> bool:
        text, freq = self.text, self._freq
        if _alnum(text[edge - 1]) and _alnum(text[edge]):
            return True
        for k in range(max(b_start, edge - self._longest + 1), edge):
            j = edge + 1
            while j <= b_end and (frag := text[k:j]) in freq:
                if freq[frag]:
                    return True
                j += 1
        return False

    def _words_around(self, start: int, end: int) -> list[tuple[int, int]]:
        i = bisect_right(self._starts, start) - 1
        if i < 0 or end > self._blocks[i][1]:
            i = -1  # the hit leaves the run (punctuation in a keyword): use the whole text
        if i not in self._spans:
            b_start, b_end = self._blocks[i] if i >= 0 else (0, len(self.text))
            words = word_spans(self._tokenizer, self.text[b_start:b_end])
            self._spans[i] = [(b_start + s, b_start + e) for s, e in words]
        return self._spans[i]

    def allows(self, start: int, end: int, false_friends: frozenset[str], *, trusted: bool) -> bool:
        """Whether a short hit at ``[start, end)`` cuts no longer word.

        A ``trusted`` hit (a policy term of our dictionary) may cross jieba's boundaries.
        """
        cut = [(s, e) for s, e in self._words_around(start, end) if s < end and e > start]
        first, last = cut[0], cut[-1]
        if first == last and first != (start, end):
            return self.text[first[0] : first[1]] not in false_friends
        return trusted or (first[0] == start and last[1] == end)


class KeywordIndex:
    """Every keyword of a rule set compiled into one automaton; terms are synonym-merged.

    Without a ``tokenizer`` every substring hit counts (no jieba veto): the benchmark's
    "without segmentation" figure and its naive-loop reference use that.
    """

    def __init__(
        self, keywords: Iterable[str], *, synonyms: SynonymTable, tokenizer: Tokenizer | None
    ) -> None:
        self._synonyms = synonyms
        self._tokenizer = tokenizer
        self._ids: dict[str, int] = {}
        for keyword in keywords:
            self._ids.setdefault(self._canonical(keyword), len(self._ids))
        patterns = [
            (form, tid) for canon, tid in self._ids.items() for form in synonyms.forms(canon)
        ]
        self._automaton = build_automaton(patterns)
        self._false_friends = frozenset(normalize(w) for w in read_lines("false_friends.txt"))
        self._trusted = frozenset(normalize(w) for w in dictionary_words())
        self._friends_of = _friends_of(
            (f for canon in self._ids for f in synonyms.forms(canon)), self._false_friends
        )

    def _canonical(self, keyword: str) -> str:
        return self._synonyms.canonical(normalize(keyword.strip()))

    def term_id(self, keyword: str) -> int:
        """The term a keyword (given when the index was built) was compiled into."""
        return self._ids[self._canonical(keyword)]

    def _accepted(self, norm: str) -> Iterator[tuple[int, int, int]]:
        hits = self._automaton.iter(norm)
        if self._tokenizer is None:
            yield from hits
            return
        bounds: _Boundaries | None = None
        for start, end, term in hits:
            if end - start <= SHORT_KEYWORD:
                word = norm[start:end]
                trusted = word in self._trusted
                # A trusted hit can only be vetoed by a false friend written over it, so
                # jieba is asked only when one is there.
                if trusted and not _covered(norm, start, end, self._friends_of.get(word, ())):
                    yield start, end, term
                    continue
                bounds = bounds or _Boundaries(self._tokenizer, norm)
                if bounds.clear(start, end):
                    yield start, end, term
                    continue
                if not bounds.allows(start, end, self._false_friends, trusted=trusted):
                    continue
            yield start, end, term

    def scan(
        self,
        field: str,
        text: str,
        *,
        longest: bool = False,
        skip: Callable[[str, int, int], bool] | None = None,
    ) -> dict[int, Hit]:
        """The first accepted hit of each term in one field's text.

        With ``longest``, a hit lying inside a longer hit of another term is dropped
        (``养老`` inside ``养老保险``), as the domain classifier wants. ``skip`` (given the
        normalised text, start and end) drops further hits, e.g. words of an office's name.
        """
        norm = normalize_with_offsets(text)
        found = list(self._accepted(norm.text))
        if longest:
            found = _longest(found)
        if skip is not None:
            found = [f for f in found if not skip(norm.text, f[0], f[1])]
        hits: dict[int, Hit] = {}
        for start, end, term in found:
            if term not in hits:
                hits[term] = _hit(term, field, text, norm, start, end)
        return hits


def _friends_of(forms: Iterable[str], friends: frozenset[str]) -> dict[str, tuple[str, ...]]:
    short = {f for f in forms if len(f) <= SHORT_KEYWORD}
    return {w: tuple(ff for ff in friends if w in ff) for w in short}


def _covered(norm: str, start: int, end: int, friends: tuple[str, ...]) -> bool:
    """Whether one of ``friends`` is written over ``norm[start:end]``."""
    word = norm[start:end]
    for friend in friends:
        at = friend.find(word)
        while at >= 0:
            if start >= at and norm.startswith(friend, start - at):
                return True
            at = friend.find(word, at + 1)
    return False


def _longest(found: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    # Sorted by start, longest first: a hit ending within an earlier kept hit is inside it.
    spans = sorted(found, key=lambda h: (h[0], -h[1]))
    kept: list[tuple[int, int, int]] = []
    reach = -1
    for start, end, term in spans:
        if end <= reach:
            continue
        kept.append((start, end, term))
        reach = max(reach, end)
    return kept


def _hit(term: int, field: str, text: str, norm: NormalText, start: int, end: int) -> Hit:
    o_start, o_end = norm.span(start, end)
    return Hit(term, field, o_start, text[o_start:o_end])
