"""The template registry refuses what the providers' template review refuses, with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from channels.sms_templates import (
    TemplateError,
    is_datetime,
    link_warnings,
    load_registry,
    parse_registry,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "sms-templates"
SHORT = "https://gk.example.gov.cn/s/"


def _one(text: str, variables: dict[str, object] | None = None, style: str = "aliyun") -> str:
    """The reason a one-template registry is refused ("" when it is accepted)."""
    data = {"templates": {"T1": {"text": text, "variables": variables or {}}}}
    try:
        parse_registry("aliyun", style, data)  # type: ignore[arg-type]
    except TemplateError as exc:
        return str(exc)
    return ""


LINK = {"code": {"kind": "link_param", "max_len": 12}}


@pytest.mark.parametrize(
    ("text", "variables", "reason"),
    [
        ("${title}", {}, "全部由变量组成"),
        ("${org}：${title}。", {}, "全部由变量组成"),
        ("通知：${org}${title}，详见 https://a.cn/s/${code}", LINK, "两个变量相连"),
        ("【青山镇】通知：${title}，详见 https://a.cn/s/${code}", LINK, "【】"),
        ("通知：${title}，再说一遍：${title}", {}, "出现两次"),
        ("通知：${title}，回复R拒收", {}, "回复R拒收"),
        ("通知：${title}，退订回T", {}, "回复R拒收"),
        ("通知：${title}，详见 https://${host}.cn/s/1", {}, "域名含变量"),
        ("通知：${title}，详见 https://a.cn/${p}/x", {"p": "link_param"}, "须在末尾"),
        ("通知：${title}，详见 https://a.cn/s/${code}", {}, "link_param 属性"),
        ("通知：${title}，详见${code}", LINK, "须紧跟固定域名"),
    ],
)
def test_a_template_breaking_a_provider_rule_is_refused_with_the_reason(
    text: str, variables: dict[str, object], reason: str
) -> None:
    assert reason in _one(text, variables)


def test_a_template_within_the_rules_is_accepted() -> None:
    assert _one("${org}发布通知：${title}，详见 https://a.cn/s/${code}", LINK) == ""
    assert _one("{1}发布通知：{2}，详见 https://a.cn/s/{3}", style="tencent") == ""


def test_tencent_numbered_variables_side_by_side_are_refused() -> None:
    assert "两个变量相连" in _one("通知：{1}{2}，详见 https://a.cn/s/{3}", style="tencent")


def test_malformed_entries_are_refused() -> None:
    assert "属性" in _one("通知：${title}。", {"title": "money2"})
    assert "不在模板内容中" in _one("通知：${title}。", {"place": "others"})
    assert "max_len" in _one("通知：${title}。", {"title": {"kind": "others", "max_len": 0}})
    with pytest.raises(TemplateError, match="用途"):
        parse_registry(
            "aliyun", "aliyun", {"templates": {"T": {"text": "通知${a}。", "purpose": "x"}}}
        )
    with pytest.raises(TemplateError, match="没有登记"):
        parse_registry("aliyun", "aliyun", {"templates": {}})


@pytest.mark.parametrize("style", ["aliyun", "tencent"])
def test_the_suggested_templates_pass_and_link_to_the_short_links(style: str) -> None:
    registry = load_registry(style, style, file=str(DOCS / f"{style}.yaml"))  # type: ignore[arg-type]
    assert registry is not None
    assert registry.for_purpose("notice") is not None
    assert registry.for_purpose("urgent") is not None
    assert link_warnings(registry, SHORT) == {}
    warned = link_warnings(registry, "https://pusher.example.org/s/")
    for purpose in ("code", "staff", "answer"):  # the service messages' own templates
        assert registry.for_purpose(purpose) is not None
    # a verification code carries no link: never warned about one
    assert set(warned) == {t.code for t in registry.templates if t.purpose != "code"}
    assert "不一致" in next(iter(warned.values()))


def test_inline_templates_add_to_the_file_and_nothing_given_is_none(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"templates": {"A": {"text": "通知：${title}。"}}}), "utf-8")
    inline = {"B": {"purpose": "urgent", "text": "紧急：${title}。"}}
    registry = load_registry("aliyun", "aliyun", file=str(path), inline=inline)
    assert registry is not None
    assert [t.code for t in registry.templates] == ["A", "B"]
    assert load_registry("aliyun", "aliyun") is None
    with pytest.raises(TemplateError, match="无法读取"):
        load_registry("aliyun", "aliyun", file=str(tmp_path / "missing.yaml"))


def test_variable_values_are_checked_against_their_property() -> None:
    registry = load_registry("aliyun", "aliyun", file=str(DOCS / "aliyun.yaml"))
    assert registry is not None
    deadline = registry.for_purpose("deadline")
    assert deadline is not None
    good = {"org": "青山镇", "title": "医保缴费", "deadline": "2026年12月8日", "code": "a3f"}
    assert deadline.problems(good) == []
    assert "35 字上限" in " ".join(deadline.problems(good | {"title": "通" * 36}))
    assert "日期时间" in " ".join(deadline.problems(good | {"deadline": "月底前"}))
    assert "缺少变量" in " ".join(deadline.problems({k: v for k, v in good.items() if k != "org"}))
    assert "没有变量" in " ".join(deadline.problems(good | {"content": "x"}))


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2026年12月8日", True),
        ("2026年12月8日 18:00", True),
        ("20261220", True),
        ("12月8日", False),  # Aliyun's time wants the year
        ("2026-12-08 18:00", True),
        ("18:00", True),
        ("2月30日", False),
        ("12月8日 25:00", False),
        ("月底前", False),
        ("12月8日前", False),
    ],
)
def test_a_time_variable_holds_a_real_date_or_time(value: str, ok: bool) -> None:
    assert is_datetime(value) is ok
