"""Rule texts checked the way the rule editor checks them, with the error in Chinese."""

from __future__ import annotations

import re
from typing import Any

from rules import RuleSyntaxError, parse_rule

_ZH = (
    (r"^unclosed quote", "引号没有闭合"),
    (r"^expected a value after '(.+):'", r"「\1:」后面缺少内容"),
    (r"^expected a keyword before '(.+)'", r"「\1」前面缺少关键词"),
    (r"^expected a keyword after '\|'", "「|」后面缺少关键词"),
    (r"^'!' must be followed by a keyword", "「!」后面要跟关键词"),
    (r"^missing '\|' or '&' between keywords", "关键词之间缺少「|」或「&」"),
    (r"^empty keyword", "关键词为空"),
    (r"^unknown domain '(.+)'", r"没有「\1」这个领域"),
    (r"^region: takes", "region: 后面应是一个地区代码（数字）"),
    (r"^urgency: takes", "urgency: 后面应是 normal 或 urgent"),
    (r"^in: takes", "in: 后面应是 title、body 或 title,body"),
    (r"^a rule needs", "规则至少要有一个不带「!」的关键词或一个条件"),
)


def explain(exc: RuleSyntaxError) -> str:
    """The error in Chinese with where it is, e.g. 第 5 个字处：「|」后面缺少关键词."""
    message = exc.message
    for pattern, zh in _ZH:
        if re.search(pattern, message):
            message = re.sub(pattern + ".*", zh, message)
            break
    return f"第 {exc.position + 1} 个字处：{message}"


def check(text: str) -> dict[str, Any]:
    """``{"ok", "message", "position"}`` for one rule text."""
    try:
        parse_rule(text, group="check")
    except RuleSyntaxError as exc:
        return {"ok": False, "message": explain(exc), "position": exc.position}
    return {"ok": True, "message": "", "position": None}
