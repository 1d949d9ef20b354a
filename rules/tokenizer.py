"""Building the jieba tokenizer the matcher uses to judge word boundaries."""

from __future__ import annotations

import importlib
import logging
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rules.resources import dictionary_words

Tokenizer = Any  # jieba.Tokenizer ships without type information


def _import_jieba() -> Any:
    # jieba 0.42's sources hold invalid escape sequences: compiling them warns
    # (SyntaxWarning), which a warnings-as-errors test run turns into a SyntaxError.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        return importlib.import_module("jieba")


def build_tokenizer(
    *, extra_words: Iterable[str] = (), cache_dir: Path | str | None = None
) -> Tokenizer:
    """Build a fresh ``jieba.Tokenizer`` (never the global one) with the domain dictionary.

    ``extra_words`` (region names, for instance) are added too. ``cache_dir`` is where
    jieba keeps its pickled prefix dictionary: the first build writes it (~1 s), later
    builds load it (a few hundred ms).
    """
    # jieba logs every dictionary load at DEBUG to stderr; the offline tool's stderr is
    # for our own error messages.
    jieba = _import_jieba()
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    if cache_dir is not None:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        tokenizer.tmp_dir = str(cache_dir)
    tokenizer.initialize()
    for word in (*dictionary_words(), *extra_words):
        if word.strip():
            tokenizer.add_word(word.strip())
    return tokenizer


def word_spans(tokenizer: Tokenizer, text: str) -> list[tuple[int, int]]:
    """jieba's word boundaries over ``text`` as ``(start, end)`` spans.

    HMM is off: unknown character runs then stay single characters, so fewer invented
    words can veto a keyword.
    """
    return [(start, end) for _, start, end in tokenizer.tokenize(text, HMM=False)]
