"""Synonym groups: every form of a term matches wherever any form is written.

A rule keyword is replaced by its group's canonical form, and the matcher searches the
text for every form of that group, so ``低保`` finds ``最低生活保障`` and the other way
round. Synonyms apply to whole keywords: ``农村低保`` does not expand to
``农村最低生活保障`` unless that pair is a group of its own.
"""

from __future__ import annotations

from collections.abc import Iterable

from rules.resources import read_lines
from rules.text import normalize


class SynonymTable:
    """Maps each normalised form to its canonical form and back to all forms."""

    def __init__(self, groups: Iterable[Iterable[str]]) -> None:
        self._canon: dict[str, str] = {}
        self._forms: dict[str, tuple[str, ...]] = {}
        for group in groups:
            forms = tuple(dict.fromkeys(normalize(f.strip()) for f in group if f.strip()))
            fresh = tuple(f for f in forms if f not in self._canon)
            if len(fresh) < 2:
                continue
            for form in fresh:
                self._canon[form] = fresh[0]
            self._forms[fresh[0]] = fresh

    def canonical(self, normalized: str) -> str:
        """The canonical form of a normalised keyword (itself when it has no synonyms)."""
        return self._canon.get(normalized, normalized)

    def forms(self, canonical: str) -> tuple[str, ...]:
        """Every form to search for a canonical keyword, the canonical one first."""
        return self._forms.get(canonical, (canonical,))


def load_synonyms() -> SynonymTable:
    """The built-in synonym table from ``rules/data/synonyms.txt``."""
    return SynonymTable(line.split(",") for line in read_lines("synonyms.txt"))
