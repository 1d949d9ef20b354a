"""Reading the word lists shipped under ``rules/data/`` (package data).

The readers below are memoised for the process (``functools.cache``), the one kind of
module-level cache ``rules/`` keeps: each is a pure function of files inside the
installed package, so its value is the same for every caller, fixed in size (a few
thousand words, read once on first use, never at import) and never stale while the
process runs. Values are immutable (tuples, read-only mappings), so no caller can change
what another sees. State that depends on the service's data (the tokenizer with its
region names, the compiled rules, the domain classifier) is built once by its owner and
passed in instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType

DATA_FILES: tuple[str, ...] = (
    "domains.txt",
    "synonyms.txt",
    "policy_words.txt",
    "false_friends.txt",
)


@cache
def read_lines(name: str) -> tuple[str, ...]:
    """Non-empty lines of a data file, with ``#`` comments and surrounding blanks removed."""
    text = resources.files("rules").joinpath("data", name).read_text(encoding="utf-8")
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return tuple(line for line in lines if line)


@cache
def data_hash() -> str:
    """A hash of every data file, part of a compiled matcher's version."""
    digest = hashlib.sha256()
    for name in DATA_FILES:
        digest.update("\n".join(read_lines(name)).encode("utf-8"))
    return digest.hexdigest()


@cache
def domain_keywords() -> Mapping[str, tuple[tuple[str, float], ...]]:
    """Each domain's keywords with their weights, from ``domains.txt``."""
    out: dict[str, list[tuple[str, float]]] = {}
    current: list[tuple[str, float]] | None = None
    for line in read_lines("domains.txt"):
        if line.startswith("[") and line.endswith("]"):
            current = out.setdefault(line[1:-1], [])
            continue
        if current is None:
            raise ValueError(f"domains.txt: keyword before any [domain]: {line}")
        word, _, weight = line.partition(" ")
        current.append((word, float(weight or 1)))
    return MappingProxyType({name: tuple(words) for name, words in out.items()})


@cache
def dictionary_words() -> tuple[str, ...]:
    """Every word the tokenizer should keep whole: policy terms, domain keywords, synonyms."""
    words: dict[str, None] = {}
    for name in ("policy_words.txt", "false_friends.txt"):
        words.update(dict.fromkeys(read_lines(name)))
    for entries in domain_keywords().values():
        words.update(dict.fromkeys(w for w, _ in entries))
    for line in read_lines("synonyms.txt"):
        words.update(dict.fromkeys(w.strip() for w in line.split(",")))
    return tuple(w for w in words if w)
