"""Compiling at county scale shares work between rules; the result must not show it.

The reference is each spec compiled on its own (nothing shared between rules): one big
compile, in any order, must give exactly the groups, reasons, rules and scores that
the specs give one by one.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rules import (
    ItemText,
    Matcher,
    RuleSpec,
    Tokenizer,
    compile_rules,
    compile_texts,
    compiler,
    parse_rule,
)
from rules.compiler import RuleTexts, spec_version
from rules.model import DOMAINS, GroupMatch
from rules.parser import RuleSyntaxError, _parse_fully, _parse_quickly, format_rule
from rules.resources import data_hash

# Short and long words, a synonym pair (低保 / 最低生活保障), a false friend's part (保险
# in 保险柜), words that cut longer ones (和服 in 和服务员), and a word with ':'.
WORDS = (
    "低保", "最低生活保障", "保险", "养老", "养老金", "停水", "停电", "和服", "服务",
    "补贴", "医保", "招聘", "预警", "暴雨", "村委会", "南塘村", "东湖社区", "a:b", "Ｂ超",
)  # fmt: skip
FILLER = ("关于", "通知", "他和服务员", "保险柜", "。", "农村", "申请", "全体村民", "，")
REGIONS = ("360123101", "360123102", "3601231010001")
Normal = dict[str, tuple[Counter[tuple[object, ...]], Counter[str], float]]


def _keyword(rng: random.Random) -> str:
    word = rng.choice(WORDS)
    return rng.choice(("", "", "title:", "body:")) + word


def _spec(rng: random.Random, i: int) -> RuleSpec:
    any_ = tuple(_keyword(rng) for _ in range(rng.choice((0, 2, 3))))
    all_ = tuple(_keyword(rng) for _ in range(rng.choice((0, 1, 1, 2) if any_ else (1, 2))))
    return RuleSpec(
        group=f"g{i % 37}",
        any=any_,
        all=all_,
        none=tuple(_keyword(rng) for _ in range(rng.choice((0, 0, 1)))),
        fields=rng.choice((("title", "body"), ("title", "body"), ("title",), ("body",))),
        region=rng.choice((None, None, *REGIONS)),
        domains=(rng.choice(DOMAINS),) if i % 50 == 0 else (),
        urgency=rng.choice((None, None, None, "urgent", "normal")),
    )


def _item(rng: random.Random, i: int) -> ItemText:
    def text(n: int) -> str:
        return "".join(rng.choice(WORDS + FILLER) for _ in range(n))

    region = rng.choice(REGIONS)
    path = ("360123", region[:9], region) if len(region) > 9 else ("360123", region)
    return ItemText(str(i), text(3), text(25), path, (), rng.choice(("normal", "urgent")))


def _normal(found: Sequence[GroupMatch]) -> Normal:
    """Each group's reasons and rules as multisets, and its score: order aside."""
    out: Normal = {}
    for match in found:
        reasons, rules, score = out.get(match.group, (Counter(), Counter(), 0.0))
        reasons.update(tuple(asdict(r).values()) for r in match.reasons)
        rules.update(match.rules)
        out[match.group] = (reasons, rules, score + match.score)
    return out


def _each_alone(
    specs: Sequence[RuleSpec], items: Sequence[ItemText], tok: Tokenizer
) -> list[Normal]:
    singles = [compile_rules([spec], tokenizer=tok) for spec in specs]
    return [_normal([m for one in singles for m in one.match(item)]) for item in items]


def _all_at_once(matcher: Matcher, items: Sequence[ItemText]) -> list[Normal]:
    return [_normal(matcher.match(item)) for item in items]


def test_one_compile_in_any_order_matches_each_rule_compiled_alone(tokenizer: Tokenizer) -> None:
    rng = random.Random(5)
    specs = [_spec(rng, i) for i in range(400)]
    items = [_item(rng, i) for i in range(60)]
    expected = _each_alone(specs, items, tokenizer)
    assert sum(len(groups) for groups in expected) > 100  # the sample does match
    for seed in (None, 1, 2):
        order = list(specs)
        if seed is not None:
            random.Random(seed).shuffle(order)
        assert _all_at_once(compile_rules(order, tokenizer=tokenizer), items) == expected
    texts = [(format_rule(s), s.group) for s in specs]
    assert _all_at_once(compile_texts(texts, tokenizer=tokenizer), items) == expected


def test_version_is_the_hash_of_the_specs_as_json(tokenizer: Tokenizer) -> None:
    rng = random.Random(6)
    specs = [_spec(rng, i) for i in range(2_345)]  # more than one chunk of the hash
    payload = json.dumps([asdict(s) for s in specs], ensure_ascii=False, sort_keys=True)
    digest = hashlib.sha256((payload + data_hash()).encode("utf-8")).hexdigest()[:16]
    assert spec_version(specs) == digest
    assert spec_version([]) == hashlib.sha256(("[]" + data_hash()).encode()).hexdigest()[:16]


_chunks = st.sampled_from(
    [
        *("养老", "低保", " ", "  ", "|", "｜", "&", "＆", "!", "！", ":", "：", "\\", "”"),
        *("title:", "body:", "in:", "in:title", "in:head", "title：", "region:", "region:36"),
        *("region:1 2", "domain:救灾", "domain:救灾,养老", "urgency:urgent", "urgency:x"),
        *("foo:", '"', "“", "\t", "\u3000"),
    ]
)


@settings(max_examples=400)
@given(st.lists(_chunks, max_size=8).map("".join))
@example("in:title & in:body")
@example("a | b & c｜d")
@example("region:36 ＆ region:36")
@example("低保 & urgency:urgent & urgency:normal")
@example("低保 & & 养老")
@example("!低保")
def test_quick_parse_agrees_with_the_full_parser(text: str) -> None:
    quick = _parse_quickly(text, "g")
    try:
        full = _parse_fully(text, "g")
    except RuleSyntaxError:
        assert quick is None
        return
    assert quick in (None, full)
    if '"' not in text and "“" not in text:
        assert quick == full


def test_rule_texts_parse_only_the_rules_that_changed(
    tokenizer: Tokenizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(7)
    rows = [(format_rule(s), s.group) for s in (_spec(rng, i) for i in range(300))]
    items = [_item(rng, i) for i in range(40)]
    texts = RuleTexts()
    texts.compile(rows, tokenizer=tokenizer)
    new = [("低保 & 停水 & !招聘 & in:title", rows[17][1]), ("养老 | 医保", "g-new")]
    edited = [*rows[:5], *rows[6:17], new[0], *rows[18:], new[1], (rows[3][0], "g-same-text")]
    parsed: list[str] = []

    def counting(text: str, *, group: str) -> RuleSpec:
        parsed.append(text)
        return parse_rule(text, group=group)

    monkeypatch.setattr(compiler, "parse_rule", counting)
    again = texts.compile(edited, tokenizer=tokenizer)
    assert sorted(parsed) == sorted([new[0][0], new[1][0], rows[3][0]])
    monkeypatch.undo()
    expected = _all_at_once(compile_texts(edited, tokenizer=tokenizer), items)
    assert _all_at_once(again, items) == expected
    assert any("g-same-text" in groups for groups in expected)
