from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules import ItemText, Matcher, RuleSpec, Tokenizer, compile_rules, format_rule, parse_rule

Groups = Callable[..., list[str]]
Compile = Callable[[Sequence[RuleSpec]], Matcher]


def rule(text: str, group: str = "g") -> RuleSpec:
    return parse_rule(text, group=group)


@pytest.mark.parametrize(
    ("keyword", "text"),
    [
        ("低保", "关于发放最低生活保障金的通知"),
        ("最低生活保障", "农村低保对象名单公示"),
        ("医保", "城乡居民医疗保险缴费开始"),
        ("医疗保险", "医保报销流程"),
        ("新农合", "新型农村合作医疗参合"),
        ("高龄补贴", "高龄津贴发放"),
    ],
)
def test_synonyms_match_both_ways(groups_of: Groups, keyword: str, text: str) -> None:
    assert groups_of([rule(keyword)], title=text) == ["g"]


@pytest.mark.parametrize(
    ("keyword", "text", "found"),
    [
        ("低保", "低保户名单公示", True),
        ("低保", "农村低保提标", True),
        ("养老", "养老金上调", True),
        ("养老", "养老服务中心开放", True),
        ("保险", "社会保险缴费", True),
        ("保险", "请锁好保险柜", False),
        ("和服", "他和服务员说话", False),
        ("和服", "她穿着和服", True),
        ("低保", "低保真音响", False),
        ("老人", "老人的故事", True),
        ("护理补贴", "重度残疾人护理补贴发放", True),
        ("中标", "关于中标的通知", True),
        ("标的", "关于中标的通知", True),
    ],
)
def test_short_keywords_and_word_boundaries(
    groups_of: Groups, keyword: str, text: str, found: bool
) -> None:
    assert groups_of([rule(keyword)], body=text) == (["g"] if found else [])


def test_full_width_and_case_are_normalised(groups_of: Groups) -> None:
    assert groups_of([rule("wifi")], title="村委会ＷｉＦｉ覆盖") == ["g"]
    assert groups_of([rule("ＡＢＣ")], title="abc 计划") == ["g"]


def test_field_scope(groups_of: Groups) -> None:
    title_only = rule("低保 & in:title")
    assert groups_of([title_only], title="低保公示", body="") == ["g"]
    assert groups_of([title_only], title="公示", body="低保") == []
    prefixed = rule("title:通知 & body:低保")
    assert groups_of([prefixed], title="通知", body="低保名单") == ["g"]
    assert groups_of([prefixed], title="低保", body="通知") == []


def test_region_scope(groups_of: Groups) -> None:
    spec = rule("停水 & region:360123101")
    inside = ("3601", "360123", "360123101", "360123101001")
    assert groups_of([spec], title="停水通知", region_path=inside) == ["g"]
    assert groups_of([spec], title="停水通知", region_path=("3601", "360123102")) == []
    assert groups_of([spec], title="停水通知") == []


def test_domain_filter_uses_declared_and_classified_domains(groups_of: Groups) -> None:
    spec = rule("补贴 & domain:养老服务")
    assert groups_of([spec], title="补贴发放", domains=("养老服务",)) == ["g"]
    assert groups_of([spec], title="高龄老人补贴发放", body="养老机构和敬老院") == ["g"]
    assert groups_of([spec], title="种粮补贴发放", body="耕地地力保护补贴") == []


def test_urgency_filter(groups_of: Groups) -> None:
    spec = rule("region:3601 & urgency:urgent")
    assert groups_of([spec], title="暴雨预警", region_path=("3601",), urgency="urgent") == ["g"]
    assert groups_of([spec], title="暴雨预警", region_path=("3601",)) == []


def test_none_of_vetoes(groups_of: Groups) -> None:
    spec = rule("养老 | 高龄补贴 | 老年人 & !招聘")
    assert groups_of([spec], title="养老院招聘护理员") == []
    assert groups_of([spec], title="养老院开放日") == ["g"]
    scoped = rule("养老 & !title:招聘")
    assert groups_of([scoped], title="养老院开放日", body="另有招聘信息") == ["g"]


def test_all_of_needs_every_keyword(groups_of: Groups) -> None:
    spec = rule("低保 & 公示")
    assert groups_of([spec], title="低保名单") == []
    assert groups_of([spec], title="低保名单", body="现予公示") == ["g"]


def test_reasons_point_into_the_original_text(compile_specs: Compile) -> None:
    specs = [rule("低保 | 高龄补贴 & 通知", "救助群")]
    title = "100㎡ 农村低保户和ＡＢ高龄津贴的通知"
    body = "按最低生活保障标准发放。"
    [match] = compile_specs(specs).match(ItemText(id="1", title=title, body=body))
    assert match.group == "救助群"
    texts = {"title": title, "body": body}
    seen = set()
    for reason in match.reasons:
        text = texts[reason.field]
        assert text[reason.offset : reason.offset + len(reason.matched_text)] == reason.matched_text
        assert reason.rule == format_rule(specs[0])
        seen.add((reason.keyword, reason.field, reason.matched_text))
    assert seen == {
        ("低保", "title", "低保"),
        ("低保", "body", "最低生活保障"),
        ("高龄补贴", "title", "高龄津贴"),
        ("通知", "title", "通知"),
    }
    assert match.score == 2 + 1 + 2 + 2


def test_rules_of_one_group_merge_and_groups_keep_rule_order(compile_specs: Compile) -> None:
    specs = [rule("停水", "B"), rule("低保", "A"), rule("通知", "B")]
    item = ItemText(id="1", title="停水通知", body="低保")
    matches = compile_specs(specs).match(item)
    assert [m.group for m in matches] == ["B", "A"]
    assert {r.keyword for r in matches[0].reasons} == {"停水", "通知"}


def test_version_is_a_content_hash(tokenizer: Tokenizer) -> None:
    specs = [rule("低保", "A"), rule("停水", "B")]
    first = compile_rules(specs, tokenizer=tokenizer)
    again = compile_rules(list(specs), tokenizer=tokenizer)
    other = compile_rules([rule("低保", "A")], tokenizer=tokenizer)
    assert first.version == again.version
    assert first.version != other.version


def test_rule_without_keywords_matches_on_filters(compile_specs: Compile) -> None:
    matcher = compile_specs([rule("region:3601"), rule("低保 & region:3601")])
    [match] = matcher.match(ItemText(id="1", title="任何内容", body="", region_path=("3601",)))
    assert (match.group, match.reasons, match.rules) == ("g", (), ("region:3601",))


_han = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)


@settings(max_examples=60, deadline=None)
@given(
    keyword=st.text(_han, min_size=3, max_size=6),
    before=st.text(_han, max_size=40),
    after=st.text(_han, max_size=40),
)
def test_long_keyword_inserted_anywhere_is_found(
    compile_specs: Compile, keyword: str, before: str, after: str
) -> None:
    body = before + keyword + after
    [match] = compile_specs([RuleSpec("g", any=(keyword,))]).match(
        ItemText(id="p", title="", body=body)
    )
    [reason] = match.reasons
    assert body[reason.offset : reason.offset + len(reason.matched_text)] == reason.matched_text


@settings(max_examples=60, deadline=None)
@given(
    keyword=st.text(_han, min_size=1, max_size=2),
    before=st.text(_han, max_size=30),
    after=st.text(_han, max_size=30),
)
def test_short_keyword_between_punctuation_is_found(
    compile_specs: Compile, keyword: str, before: str, after: str
) -> None:
    body = f"{before}，{keyword}。{after}"
    matches = compile_specs([RuleSpec("g", any=(keyword,))]).match(
        ItemText(id="p", title="", body=body)
    )
    assert [m.group for m in matches] == ["g"]
