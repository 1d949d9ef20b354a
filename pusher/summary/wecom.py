"""WeCom group-robot markdown: bold title, labelled facts, the link, within 4096 bytes.

WeCom's markdown subset has no documented backslash escape, so markup characters in
notice text are replaced by their full-width forms, which read the same to a resident.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote

from pusher.summary.extract import amount_label
from pusher.summary.length import fit_units, units_of, utf8_length
from pusher.summary.model import Summary

if TYPE_CHECKING:
    import jieba

WECOM_MAX_BYTES = 4096
MAX_VALUES_PER_LINE = 3
MIN_BYTES = 64
UNTITLED = "通知"
_MARKUP = str.maketrans(
    {
        "*": "＊",
        "_": "＿",
        "[": "［",
        "]": "］",
        "`": "｀",
        "<": "＜",
        ">": "＞",
        "#": "＃",
        "~": "～",
        "\n": " ",
        "\r": " ",
    }
)
_DEADLINE_MARKS = ("截止", "截至", "前", "止")


def escape_markdown(text: str) -> str:
    """Neutralise markdown-significant characters in notice text."""
    return text.translate(_MARKUP)


def render_wecom_markdown(
    summary: Summary,
    *,
    link: str | None,
    max_bytes: int = WECOM_MAX_BYTES,
    tokenizer: jieba.Tokenizer | None = None,
) -> str:
    """Markdown for a WeCom group robot, at most ``max_bytes`` UTF-8 bytes.

    Facts lines are dropped whole from the lowest priority up when space is short; the
    title and lead are shortened between units (``summary``'s stored units; the
    ``tokenizer`` is only needed for a summary built by hand).
    """
    if max_bytes < MIN_BYTES:
        raise ValueError(f"max_bytes must be at least {MIN_BYTES}")
    link_line = f"[查看全文]({safe_url(link)})" if link else ""
    title = _fit_title(summary, tokenizer, max_bytes - utf8_length(link_line) - 1)
    if not title:
        # an unbreakable title longer than the room: the title matters more than the link
        link_line = ""
        title = _fit_title(summary, tokenizer, max_bytes) or UNTITLED
    room = max_bytes - (utf8_length(link_line) + 1 if link_line else 0)
    lines = [f"**{title}**"]
    for line in fact_lines(summary):
        if utf8_length("\n".join([*lines, line])) < room:
            lines.append(line)
    lead = _lead_line(summary, tokenizer, room - utf8_length("\n".join(lines)) - 1)
    if lead:
        lines.insert(1 if summary.urgent else len(lines), lead)
    if link_line:
        lines.append(link_line)
    return "\n".join(lines)


def _fit_title(summary: Summary, tokenizer: jieba.Tokenizer | None, room: int) -> str:
    units = [escape_markdown(u) for u in units_of(summary.title, summary.title_units, tokenizer)]
    return fit_units(units, room - len("****"), measure=utf8_length)


def _lead_line(summary: Summary, tokenizer: jieba.Tokenizer | None, room: int) -> str:
    prefix = "> "
    units = [escape_markdown(u) for u in units_of(summary.lead, summary.lead_units, tokenizer)]
    text = fit_units(units, room - utf8_length(prefix), measure=utf8_length)
    return prefix + text if text else ""


def fact_lines(summary: Summary) -> list[str]:
    """Labelled fact lines in priority order (截止时间, 补贴标准, 对象, 地点, 电话, 发布单位)."""
    facts = summary.facts
    labelled: list[tuple[str, Sequence[str]]] = [
        (_deadline_label(facts.deadlines, summary.urgent), facts.deadlines),
        (amount_label(summary), facts.amounts),
        ("申请对象", facts.eligible),
        ("办理地点", facts.places),
        ("咨询电话", facts.phones),
        ("发布单位", (summary.publisher,) if summary.publisher else ()),
    ]
    return [
        f"{label}：{escape_markdown('；'.join(values[:MAX_VALUES_PER_LINE]))}"
        for label, values in labelled
        if values
    ]


def _deadline_label(deadlines: Sequence[str], urgent: bool) -> str:
    if urgent:
        return "发布时间"
    if any(mark in d for d in deadlines for mark in _DEADLINE_MARKS):
        return "截止时间"
    return "办理时间"


def safe_url(url: str) -> str:
    return quote(url, safe=":/?#&=%+,;@!$'*~.-_")
