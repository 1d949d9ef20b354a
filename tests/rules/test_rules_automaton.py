"""The fast paths give exactly the slow paths' answers."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from rules import Tokenizer
from rules.ahocorasick import Automaton, build_automaton
from rules.index import _Boundaries, _covered, _friends_of, longest_word
from rules.resources import dictionary_words, read_lines
from rules.text import normalize, normalize_with_offsets

DEV_SET = Path(__file__).resolve().parents[1] / "data" / "dev_notices.jsonl"


def texts() -> list[str]:
    lines = DEV_SET.read_text(encoding="utf-8").splitlines()
    return [normalize(r["title"] + "。" + r["body"]) for r in map(json.loads, lines)]


def patterns() -> list[tuple[str, int]]:
    words = sorted({normalize(w) for w in dictionary_words()} | {"停水", "和服", "会议", "镇"})
    return [(w, i) for i, w in enumerate(words)]


def test_native_automaton_finds_what_the_python_one_finds() -> None:
    pytest.importorskip("ahocorasick")
    native, python = build_automaton(patterns()), Automaton(patterns())
    assert type(native) is not Automaton
    for text in texts():
        assert sorted(native.iter(text)) == sorted(python.iter(text))
    assert build_automaton([]).iter("任何文本") == []


def test_python_automaton_finds_overlapping_patterns() -> None:
    automaton = build_automaton([("养老", 1), ("养老保险", 2), ("老保", 3)], native=False)
    assert sorted(automaton.iter("城乡养老保险")) == [(2, 4, 1), (2, 6, 2), (3, 5, 3)]


def short_hits(text: str) -> list[tuple[int, int]]:
    return [
        (start, end)
        for start in range(len(text) - 1)
        for end in (start + 1, start + 2)
        if text[start:end].strip()
    ]


def test_skipping_jieba_never_changes_a_verdict(tokenizer: Tokenizer) -> None:
    friends = frozenset(normalize(w) for w in read_lines("false_friends.txt"))
    rng = random.Random(5)
    checked = skipped = 0
    longest = longest_word(tokenizer)
    for text in texts():
        bounds = _Boundaries(tokenizer, text, longest=longest)
        for start, end in rng.sample(short_hits(text), 60):
            word = text[start:end]
            if bounds.clear(start, end):
                skipped += 1
                assert bounds.allows(start, end, friends, trusted=False), (text, word)
            if not _covered(text, start, end, _friends_of([word], friends).get(word, ())):
                assert bounds.allows(start, end, friends, trusted=True), (text, word)
            checked += 1
    assert skipped > checked // 10  # the shortcut is taken often


def test_false_friend_over_a_trusted_word_is_seen() -> None:
    friends = _friends_of(["保险"], frozenset({"保险柜"}))
    text = "请把贵重物品放进保险柜"
    at = text.index("保险")
    assert _covered(text, at, at + 2, friends["保险"])
    assert not _covered("参加养老保险", 4, 6, friends["保险"])


@pytest.mark.parametrize("text", ["ﬁle 文件㎏", "ＡＢＣ低保", "普通文本，没有特殊字符。"])
def test_offsets_survive_characters_that_change_length(text: str) -> None:
    norm = normalize_with_offsets(text)
    assert norm.text == normalize(text)
    for i in range(len(norm.text)):
        start, end = norm.span(i, i + 1)
        assert normalize(text[start:end]).find(norm.text[i]) >= 0
