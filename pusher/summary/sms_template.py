"""Filling an approved SMS template for an item (pure; jieba work: run it in a thread).

A template-mode SMS account sends only its approved templates
(:mod:`channels.sms_templates`). For an item this picks the template by purpose
(an urgent warning → ``urgent``; a meeting with a time and a place →
``meeting``; an item with a dated deadline → ``deadline``; else ``notice``;
a purpose without a template, or one whose variables the item cannot fill,
falls back to ``notice``) and fills its variables within their limits: the
title shortened between jieba units (bracketed parts dropped first, never cut
inside a word), the publisher shortened from the front, the date as a real date
with its year (``2026年12月8日``, ``2026年12月8日 18:00``: Aliyun's ``time``
property), the place, and the item's short-link code. The answer is the template, its parameters and
the exact text the resident reads (with the signature), or why nothing fits.

Each variable's role is its name (``org``, ``title``, ``deadline``, ``time``,
``place``, ``code``) or, for Tencent's numbered variables, where it stands: the
variable in the link is the code, one after 截止时间/时间/地点 the deadline, time
or place, one opening the text the publisher, the first other one the title.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

from channels.sms_templates import (
    PURPOSE_TITLES,
    Registry,
    SmsTemplate,
    Variable,
    is_datetime,
)
from pusher.summary.length import fit_units, split_units, units_of
from pusher.summary.model import SmsFill, Summary, VariableFill
from pusher.summary.sms import primary_deadline, sms_signature

if TYPE_CHECKING:
    import jieba

ROLES = ("org", "title", "deadline", "time", "place", "code")
NO_TEMPLATE = "no_template"
_BRACKETED = re.compile(
    r"（[^（）]*）|\([^()]*\)|【[^【】]*】|〔[^〔〕]*〕|\[[^\[\]]*\]|「[^「」]*」"
)
_MARKER = re.compile(r"^【[^【】]{1,4}】")
_SAFE = str.maketrans({"【": "「", "】": "」", "\n": "", "\r": "", "$": "＄", "{": "（", "}": "）"})
_DATE = re.compile(r"(?:(\d{4})年)?(\d{1,2})月(\d{1,2})[日号]")
_CLOCK = re.compile(r"(\d{1,2})[:：](\d{2})|(上午|下午|晚上)?(\d{1,2})(?:点|时)(半|(\d{1,2})分)?")
_MEETING = ("会议", "大会", "座谈会", "培训会", "说明会", "议事会", "开会", "召开")
_ORG_CUT = ("人民政府办公室", "人民政府", "委员会")


def role_of(template: SmsTemplate, variable: Variable) -> str:
    """What ``variable`` holds (see the module's docstring); "" when it cannot be told."""
    if variable.name in ROLES:
        return variable.name
    text = template.text
    token = "${" + variable.name + "}" if template.style == "aliyun" else "{" + variable.name + "}"
    at = text.find(token)
    before = text[:at]
    if variable.kind == "link_param" or re.search(r"https?://\S*$", before):
        return "code"
    for word, role in (
        ("截止时间", "deadline"),
        ("截止", "deadline"),
        ("时间", "time"),
        ("地点", "place"),
    ):
        if before.endswith((word, word + "：", word + ":", word + "为")):
            return role
    if at == 0:
        return "org"
    return "title"


def roles(template: SmsTemplate) -> dict[str, str]:
    """Each variable's role, by name; the first unnamed text variable is the title."""
    found: dict[str, str] = {}
    for v in template.variables:
        role = role_of(template, v)
        if role == "title" and "title" in found.values():
            role = ""
        found[v.name] = role
    return found


def purpose_of(summary: Summary, body: str = "") -> str:
    """The purpose the item calls for (before any fallback)."""
    if summary.urgent:
        return "urgent"
    text = summary.title + summary.lead
    if any(w in text for w in _MEETING) and summary.facts.places and _when(summary, body):
        return "meeting"
    if summary.facts.deadlines and _deadline(summary):
        return "deadline"
    return "notice"


def _when(summary: Summary, body: str) -> str:
    """The meeting's date (and time) as a real date/time, from the lead, deadlines or body."""
    for text in (summary.lead, *summary.facts.deadlines, body[:300]):
        value = date_text(text, published=summary.published_at)
        if value:
            return value
    return ""


def _deadline(summary: Summary) -> str:
    return date_text(primary_deadline(summary.facts.deadlines), published=summary.published_at)


def date_text(text: str, *, published: dt.date | None = None) -> str:
    """The first date in ``text`` as ``2026年12月8日``, with its clock time when one follows
    (``2026年12月8日 18:00``); "" when there is no real one. A date without its year takes
    the year of ``published`` (the next one when it would fall 2 months before it); with
    no ``published`` such a date is not used (Aliyun's ``time`` wants the year)."""
    m = _DATE.search(text)
    if m is None:
        return ""
    month, day = int(m[2]), int(m[3])
    year = int(m[1]) if m[1] else _year(published, month, day)
    if year is None:
        return ""
    value = f"{year}年{month}月{day}日"
    tail = text[m.end() : m.end() + 12]
    clock = _CLOCK.search(tail)
    if clock is not None and clock.start() <= 4:
        hour, minute = _clock(clock)
        if hour is not None:
            value += f" {hour}:{minute:02d}"
    if not is_datetime(value):
        value = value.split(" ")[0]
    return value if is_datetime(value) else ""


def _year(published: dt.date | None, month: int, day: int) -> int | None:
    if published is None:
        return None
    try:
        guess = dt.date(published.year, month, day)
    except ValueError:
        return published.year  # not a real date: is_datetime refuses it
    return published.year + 1 if (published - guess).days > 60 else published.year


def _clock(m: re.Match[str]) -> tuple[int | None, int]:
    if m[1] is not None:
        return int(m[1]), int(m[2])
    hour = int(m[4])
    if m[3] in ("下午", "晚上") and hour < 12:
        hour += 12
    minute = 30 if m[5] == "半" else int(m[6] or 0)
    return (hour, minute) if hour < 24 and minute < 60 else (None, 0)


def short_title(summary: Summary, limit: int, tokenizer: jieba.Tokenizer | None) -> str:
    """The title within ``limit`` characters: whole, then without bracketed parts, then
    cut between units with "…"; "" when not even the first unit fits."""
    title = summary.title.translate(_SAFE)
    if len(title) <= limit:
        return title
    marker = _MARKER.match(summary.title)  # 【更正】, 【撤回】: kept, as 「更正」
    kept = marker.group() if marker else ""
    plain = (kept + _BRACKETED.sub("", summary.title[len(kept) :])).strip().translate(_SAFE)
    if plain and len(plain) <= limit:
        return plain
    if plain == summary.title:
        units = units_of(summary.title, summary.title_units, tokenizer)
    else:
        units = split_units(plain or summary.title, tokenizer)
    return fit_units(units, limit).translate(_SAFE)


def short_org(publisher: str, fallback: str, limit: int, tokenizer: jieba.Tokenizer | None) -> str:
    """The publisher within ``limit``: whole, then its last office (the part after the
    government that holds it), else the signature's name; "" when nothing fits."""
    for name in (publisher, fallback):
        name = name.strip().translate(_SAFE)
        if not name:
            continue
        if len(name) <= limit:
            return name
        for cut in _ORG_CUT:
            rest = name.rsplit(cut, 1)[-1] if cut in name else ""
            if 2 <= len(rest) <= limit:
                return rest
        units = split_units(name, tokenizer)
        while units and len("".join(units)) > limit:
            units = units[1:]
        if len("".join(units)) >= 2:
            return "".join(units)
    return ""


def fill_template(
    summary: Summary,
    *,
    registry: Registry,
    signature: str,
    link: str,
    tokenizer: jieba.Tokenizer | None,
    body: str = "",
) -> SmsFill:
    """The template and its filled variables for an item, or the reason none fits."""
    wanted = purpose_of(summary, body)
    tried: list[str] = []
    for purpose in dict.fromkeys((wanted, "notice")):
        template = registry.for_purpose(purpose)
        if template is None:
            tried.append(f"没有适用于{PURPOSE_TITLES.get(purpose, purpose)}的短信模板")
            continue
        fill = _fill(
            template, summary, signature=signature, link=link, tokenizer=tokenizer, body=body
        )
        if fill.ok or purpose == "notice":
            return fill if fill.ok or not tried else _with_reason(fill, tried)
        tried.append(fill.reason)
    return SmsFill(purpose=wanted, reason="；".join(tried))


def _with_reason(fill: SmsFill, tried: list[str]) -> SmsFill:
    return SmsFill(
        purpose=fill.purpose,
        template=fill.template,
        params=fill.params,
        text=fill.text,
        variables=fill.variables,
        reason="；".join([*tried, fill.reason]),
    )


def _fill(
    template: SmsTemplate,
    summary: Summary,
    *,
    signature: str,
    link: str,
    tokenizer: jieba.Tokenizer | None,
    body: str,
) -> SmsFill:
    named = roles(template)
    sig = sms_signature(signature)
    params: dict[str, str] = {}
    for v in template.variables:
        role = named[v.name]
        value = _value(
            role,
            v,
            summary,
            sig=sig,
            link=link,
            tokenizer=tokenizer,
            body=body,
            prefix=template.link_prefix() or "",
        )
        if value is None:
            return SmsFill(
                purpose=template.purpose,
                template=template.code,
                reason=_missing(template, v, role),
            )
        params[v.name] = value
    problems = template.problems(params)
    return SmsFill(
        purpose=template.purpose,
        template=template.code,
        params=params,
        text=sig + template.fill(params),
        variables=tuple(
            VariableFill(v.name, named[v.name], params[v.name], len(params[v.name]), v.max_len)
            for v in template.variables
        ),
        reason="；".join(f"短信：{p}" for p in problems),
    )


def _missing(template: SmsTemplate, variable: Variable, role: str) -> str:
    what = {
        "title": f"标题缩短后仍超过模板变量「{variable.name}」的 {variable.max_len} 字上限",
        "org": f"发布单位缩短后仍超过模板变量「{variable.name}」的 {variable.max_len} 字上限",
        "deadline": "通知中没有可填入的截止日期",
        "time": "通知中没有可填入的会议时间",
        "place": f"通知中没有不超过 {variable.max_len} 字的地点",
        "code": f"短链接代码超过模板变量「{variable.name}」的 {variable.max_len} 字上限",
        "": f"不知道模板变量「{variable.name}」应填什么",
    }[role]
    return f"短信：{what}（模板 {template.code}）"


def _value(
    role: str,
    v: Variable,
    summary: Summary,
    *,
    sig: str,
    link: str,
    tokenizer: jieba.Tokenizer | None,
    body: str,
    prefix: str,
) -> str | None:
    value = ""
    if role == "title":
        value = short_title(summary, v.max_len, tokenizer)
    elif role == "org":
        value = short_org(summary.publisher, sig.strip("【】"), v.max_len, tokenizer)
    elif role == "deadline":
        value = _deadline(summary)
    elif role == "time":
        value = _when(summary, body)
    elif role == "place":
        value = next((p for p in summary.facts.places if len(p) <= v.max_len), "")
    elif role == "code":
        value = (
            link[len(prefix) :] if prefix and link.startswith(prefix) else link.rsplit("/", 1)[-1]
        )
    value = value.translate(_SAFE)
    return value if value and len(value) <= v.max_len else None
