"""The memos ``rules/`` keeps for the process stay bounded and read-only."""

from __future__ import annotations

import unicodedata

import pytest

from rules.classify import domain_contexts
from rules.resources import domain_keywords
from rules.text import MEMO_CHARS, _table, normalize_char, normalize_with_offsets


def test_hostile_text_of_every_character_does_not_grow_the_normalising_memos() -> None:
    han = "".join(chr(c) for c in range(0x4E00, 0x4E00 + 2 * MEMO_CHARS))
    wide = "".join(chr(c) for c in range(0xFF01, 0xFF5F))  # full-width forms normalise
    text = han + wide
    norm = normalize_with_offsets(text)
    assert norm.text == "".join(unicodedata.normalize("NFKC", c).casefold() for c in text)
    assert len(_table()) <= MEMO_CHARS
    assert normalize_char.cache_info().currsize <= MEMO_CHARS
    assert normalize_with_offsets("ＡＢＣ低保").text == "abc低保"  # still right when full


def test_package_data_memos_cannot_be_changed_by_a_caller() -> None:
    with pytest.raises(TypeError):
        domain_keywords()["养老服务"] = ()  # type: ignore[index]
    context = next(iter(domain_contexts().values()))
    with pytest.raises(TypeError):
        context.anchors["x"] = ()  # type: ignore[index]
    with pytest.raises(TypeError):
        domain_contexts()["x"] = context  # type: ignore[index]
