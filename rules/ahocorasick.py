"""A small pure-Python Aho-Corasick automaton (no C extension needed).

Matching costs time proportional to the text length plus the number of hits, whatever
the number of patterns.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator


class Automaton:
    """Finds every occurrence of many patterns in one pass; each pattern carries a value."""

    def __init__(self, patterns: Iterable[tuple[str, int]]) -> None:
        self._goto: list[dict[str, int]] = [{}]
        self._out: list[tuple[tuple[int, int], ...]] = [()]
        outs: list[list[tuple[int, int]]] = [[]]
        for pattern, value in patterns:
            if pattern:
                outs[self._insert(pattern, outs)].append((len(pattern), value))
        self._fail = self._link(outs)

    def _insert(self, pattern: str, outs: list[list[tuple[int, int]]]) -> int:
        node = 0
        for c in pattern:
            nxt = self._goto[node].get(c)
            if nxt is None:
                nxt = len(self._goto)
                self._goto[node][c] = nxt
                self._goto.append({})
                outs.append([])
            node = nxt
        return node

    def _link(self, outs: list[list[tuple[int, int]]]) -> list[int]:
        fail = [0] * len(self._goto)
        merged: list[tuple[tuple[int, int], ...]] = [()] * len(self._goto)
        queue = deque(self._goto[0].values())
        for child in queue:
            merged[child] = tuple(outs[child])
        while queue:
            node = queue.popleft()
            for c, child in self._goto[node].items():
                f = fail[node]
                while f and c not in self._goto[f]:
                    f = fail[f]
                target = self._goto[f].get(c, 0)
                fail[child] = target if target != child else 0
                merged[child] = tuple(outs[child]) + merged[fail[child]]
                queue.append(child)
        self._out = merged
        return fail

    def iter(self, text: str) -> Iterator[tuple[int, int, int]]:
        """Yield ``(start, end, value)`` for every occurrence of every pattern."""
        goto, fail, out = self._goto, self._fail, self._out
        node = 0
        for i, c in enumerate(text):
            while node and c not in goto[node]:
                node = fail[node]
            node = goto[node].get(c, 0)
            for length, value in out[node]:
                yield i + 1 - length, i + 1, value
