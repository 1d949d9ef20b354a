from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules import DOMAINS, RuleSpec, RuleSyntaxError, canonical, format_rule, parse_rule
from rules.parser import check_spec, split_scope, validate_rule


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "养老 | 高龄补贴 | 老年人 & !招聘",
            RuleSpec("g", any=("养老", "高龄补贴", "老年人"), none=("招聘",)),
        ),
        ("低保 & 通知", RuleSpec("g", all=("低保", "通知"))),
        ("低保", RuleSpec("g", all=("低保",))),
        ("title:低保 & body:申请", RuleSpec("g", all=("title:低保", "body:申请"))),
        ('"open day" & “春节 假期”', RuleSpec("g", all=("open day", "春节 假期"))),
        ('"a\\"b" | c', RuleSpec("g", any=('a"b', "c"))),
        ("停水｜停电＆！演练", RuleSpec("g", any=("停水", "停电"), none=("演练",))),
        ("低保 & in:title", RuleSpec("g", all=("低保",), fields=("title",))),
        (
            "region:360123101 & urgency:urgent",
            RuleSpec("g", region="360123101", urgency="urgent"),
        ),
        (
            "救助 & domain:社会救助,征地补偿/农村集体土地征收",
            RuleSpec("g", all=("救助",), domains=("社会救助", "征地补偿/农村集体土地征收")),
        ),
        ('title:"a b"', RuleSpec("g", all=("title:a b",))),
        ("title：低保 & 标题：x", RuleSpec("g", all=("title:低保", "标题：x"))),
        ('"title:"', RuleSpec("g", all=("title:",))),
    ],
)
def test_good_rules_parse(text: str, expected: RuleSpec) -> None:
    assert parse_rule(text, group="g") == expected


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("", 0, "empty"),
        ("养老 |", 4, "after '|'"),
        ("养老 & ", 4, "after '&'"),
        ("& 养老", 0, "before '&'"),
        ("养老 低保", 3, "missing '|' or '&'"),
        ('养老 & "低保', 5, "unclosed quote"),
        ("a | b & c | d", 8, "only one '|' group"),
        ("a | !b", 4, "'!' cannot be used inside alternatives"),
        ("!", 1, "'!' must be followed"),
        ("!a b", 3, "one keyword"),
        ("!招聘", 0, "not negated"),
        ("foo:x", 0, "unknown prefix 'foo:'"),
        ("养老 & title:", 11, "expected a value after 'title:'"),
        ("养老 & urgency:soon", 5, "urgency"),
        ("养老 & domain:养老", 5, "unknown domain '养老'"),
        ("养老 & in:head", 5, "in: takes"),
        ("养老 & region:36 01", 15, "missing '|' or '&'"),
        ('""', 0, "empty keyword"),
        ("a | region:1", 4, "filter"),
    ],
)
def test_errors_say_what_and_where(text: str, position: int, fragment: str) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        parse_rule(text, group="g")
    assert caught.value.position == position
    assert fragment in caught.value.message
    assert f"position {position}" in str(caught.value)
    assert validate_rule(text) == [str(caught.value)]


def test_syntax_errors_survive_pickling() -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        parse_rule("养老 |", group="g")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (copy.message, copy.position, str(copy)) == (
        caught.value.message,
        caught.value.position,
        str(caught.value),
    )


def test_valid_rule_has_no_problems() -> None:
    assert validate_rule("养老 | 老年人 & !招聘") == []


@pytest.mark.parametrize(
    "text",
    [
        "养老 | 高龄补贴 | 老年人 & !招聘",
        'title:"a b" & body:低保 & !"x|y" & in:title & region:3601 & domain:救灾 & urgency:normal',
        "region:360123",
    ],
)
def test_format_parse_round_trip(text: str) -> None:
    spec = parse_rule(text, group="g")
    assert format_rule(spec) == text
    assert parse_rule(format_rule(spec), group="g") == spec


def test_lone_any_keyword_formats_as_all_keyword() -> None:
    spec = RuleSpec("g", any=("低保",), all=("通知",))
    assert parse_rule(format_rule(spec), group="g") == canonical(spec)
    assert canonical(spec) == RuleSpec("g", all=("低保", "通知"))


def test_check_spec_rejects_bad_data() -> None:
    with pytest.raises(RuleSyntaxError):
        check_spec(RuleSpec("g", any=("养老",), urgency="maybe"))
    with pytest.raises(RuleSyntaxError):
        check_spec(RuleSpec("g", none=("招聘",)))


_chunks = st.sampled_from(
    ["养老", "低", "保", " ", '"', "“", "”", "|", "&", "!", "！", ":", "：", "\\", "title:", "in:"]
)
_keyword = (
    st.lists(_chunks, min_size=1, max_size=4)
    .map("".join)
    .filter(lambda s: split_scope(s, ())[1].strip() != "")
)


@given(
    any_=st.lists(_keyword, max_size=3),
    all_=st.lists(_keyword, max_size=2),
    none=st.lists(_keyword, max_size=2),
    fields=st.sampled_from([("title", "body"), ("title",), ("body",)]),
    region=st.one_of(st.none(), st.from_regex(r"[0-9]{2,9}", fullmatch=True)),
    domains=st.lists(st.sampled_from(DOMAINS), max_size=2),
    urgency=st.sampled_from([None, "normal", "urgent"]),
)
def test_any_spec_round_trips(
    any_: list[str],
    all_: list[str],
    none: list[str],
    fields: tuple[str, ...],
    region: str | None,
    domains: list[str],
    urgency: str | None,
) -> None:
    spec = RuleSpec(
        "g", tuple(any_), tuple(all_), tuple(none), fields, region, tuple(domains), urgency
    )
    if not (any_ or all_ or region or domains or urgency):
        return
    assert parse_rule(format_rule(spec), group="g") == canonical(spec)
