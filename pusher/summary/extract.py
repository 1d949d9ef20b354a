"""Extractive summary of a Chinese government notice: clean title, key facts, a lead."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from pusher.summary.length import fit_units, split_units
from pusher.summary.model import Facts, Notice, Summary
from pusher.summary.patterns import (
    AMOUNT_RE,
    CONTEXT_PHONE_RE,
    DEADLINE_RE,
    ELIGIBLE_LEADING_JUNK,
    ELIGIBLE_RES,
    PHONE_RE,
    PLACE_BARE_RE,
    PLACE_CONTEXT_RE,
    WARNING_RE,
)

if TYPE_CHECKING:
    import jieba

LEAD_MAX_CHARS = 50
URGENT_LEAD_MAX_CHARS = 120
MAX_PER_FACT = 5
UNTITLED = "通知"
_WS_RE = re.compile(r"\s+")
# Whitespace next to a Chinese character is layout; between Latin letters or digits it
# separates tokens, and dropping it would merge two numbers into a new one.
_CJK_WS_RE = re.compile(r"(?<=[^\x00-\x7f])\s+|\s+(?=[^\x00-\x7f])")


def squash_spaces(text: str) -> str:
    """Remove layout whitespace; keep one space between ASCII tokens."""
    return _WS_RE.sub(" ", _CJK_WS_RE.sub("", text)).strip()


_ORG_SUFFIX = r"(?:政府|办公厅|办公室|委员会|委|局|厅|部|办|院|台|中心|镇|乡|街道|办事处|所|站)"
_ISSUER = r"(?:[^\s关]{2,20}?" + _ORG_SUFFIX + r")?"
_TITLE_RE = re.compile(r"^" + _ISSUER + r"关于(?P<core>.+?)的(?:通知|公告|公示|通告)$")
_EDGE_FUNCTION = set("的和与及或对为在于把被将、")
_SENTENCE_RE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]?")
_DOC_NUMBER_RE = re.compile(r"〔\d{4}〕\d+号$|\[\d{4}\]\d+号$")
_LIST_MARK_RE = re.compile(
    r"^(?:\d{1,2}[.、．]|[（(][一二三四五六七八九十\d]{1,3}[)）]|[一二三四五六七八九十]、)"
)
_FEE_WORDS = ("缴费", "缴纳", "收费", "费用")
_AID_WORDS = ("补贴", "津贴", "补助", "救助", "奖励", "资助", "慰问")
_PREAMBLE_RE = re.compile(r"如下[。：:]?$")
_WARNING_HEAD_RE = re.compile(
    r"^.{0,60}?(?:发布|更新|解除|降级|升级)[^，。]{0,30}?预警[^，。：:]{0,12}[：:]"
)


def clean_title(title: str) -> str:
    """Drop notice boilerplate ("[issuer]关于…的通知") when the rest still reads as a phrase."""
    text = squash_spaces(title).rstrip("。；;，, ") or squash_spaces(title)
    match = _TITLE_RE.match(text)
    if match is None:
        return text
    core = match.group("core")
    return core if _reads_as_phrase(core) else text


def _reads_as_phrase(core: str) -> bool:
    content = [c for c in core if "\u4e00" <= c <= "\u9fff" and c not in "年月日号"]
    if len(content) < 3:
        return False
    return core[0] not in _EDGE_FUNCTION and core[-1] not in _EDGE_FUNCTION


def extract_facts(body: str) -> Facts:
    """Deadlines, amounts, places, who is eligible and phones, as found in ``body``."""
    return Facts(
        deadlines=_unique(m.group() for m in DEADLINE_RE.finditer(body)),
        amounts=_unique(m.group() for m in AMOUNT_RE.finditer(body)),
        places=_places(body),
        eligible=_eligible(body),
        phones=_phones(body),
    )


def _unique(found: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for item in found:
        item = item.strip()
        if item and item not in seen:
            seen[item] = None
    return tuple(seen)[:MAX_PER_FACT]


def _places(body: str) -> tuple[str, ...]:
    found = [(m.start("p"), m.group("p")) for m in PLACE_CONTEXT_RE.finditer(body)]
    covered = [(start, start + len(text)) for start, text in found]
    for m in PLACE_BARE_RE.finditer(body):
        if not any(a <= m.start() < b for a, b in covered):
            found.append((m.start(), m.group()))
    return _unique(text for _, text in sorted(found))


_TRAILING_NUMBER = re.compile(r"[\d０-９.．:：\-－—/]+$")
#: what follows a cut that fell inside a number: a digit, or a joiner and a digit
#: (0791-8888…, 1.5, 8:30)
_NUMBER_GOES_ON = re.compile(r"[\d０-９]|[.．:：\-－—/][\d０-９]")


def _eligible(body: str) -> tuple[str, ...]:
    found: list[tuple[int, str]] = []
    for pattern in ELIGIBLE_RES:
        for m in pattern.finditer(body):
            junk = ELIGIBLE_LEADING_JUNK.match(m.group("e"))
            cut = junk.end() if junk else 0
            text = m.group("e")[cut:]
            start = m.start("e") + cut
            if start and text[:1].isdigit() and body[start - 1].isdigit():
                continue  # it would begin inside a number

            if _NUMBER_GOES_ON.match(body, m.end("e")):
                text = _TRAILING_NUMBER.sub("", text)  # the length cap fell inside a number
            if len(text) >= 2 and not any(text in other for _, other in found):
                found.append((start, text))
    return _unique(text for _, text in sorted(found))


def _phones(body: str) -> tuple[str, ...]:
    found = [(m.start(), m.group()) for m in PHONE_RE.finditer(body)]
    found += [(m.start("num"), m.group("num")) for m in CONTEXT_PHONE_RE.finditer(body)]
    return _unique(text for _, text in sorted(found))


def amount_label(summary: Summary) -> str:
    """How to label the amounts: 缴费标准 for fees, 补贴标准 for aid, else 金额."""
    text = summary.title + summary.lead
    if any(word in text for word in _FEE_WORDS):
        return "缴费标准"
    if any(word in text for word in _AID_WORDS):
        return "补贴标准"
    return "金额"


def find_warning(title: str, body: str) -> str:
    """The warning's name ("暴雨红色预警") from the title, else the body; "" if none."""
    match = WARNING_RE.search(title) or WARNING_RE.search(body)
    return match.group() if match else ""


def lead_sentence(title: str, body: str, *, urgent: bool) -> str:
    """The first sentence that says something: not the title again, a document number,
    a salutation or a list marker. For warnings, the part after "…发布…预警：".
    """
    flat_title = squash_spaces(title)
    for raw in _SENTENCE_RE.findall(body):
        sentence = _LIST_MARK_RE.sub("", raw.strip())
        flat = squash_spaces(sentence)
        if len(flat) < 6 or flat in flat_title or _DOC_NUMBER_RE.search(flat):
            continue
        if flat.endswith(("：", ":")) or _PREAMBLE_RE.search(flat):
            continue
        if urgent:
            sentence = _WARNING_HEAD_RE.sub("", sentence) or sentence
        return squash_spaces(sentence)
    return ""


def summarize(notice: Notice, *, tokenizer: jieba.Tokenizer) -> Summary:
    """Build the channel-independent summary of ``notice``."""
    title = clean_title(notice.title) or UNTITLED
    lead_text = lead_sentence(notice.title, notice.body, urgent=notice.urgent)
    limit = URGENT_LEAD_MAX_CHARS if notice.urgent else LEAD_MAX_CHARS
    lead = fit_units(split_units(lead_text, tokenizer), limit)
    return Summary(
        title=title,
        facts=extract_facts(notice.body),
        lead=lead,
        urgent=notice.urgent,
        warning=find_warning(notice.title, notice.body),
        publisher=squash_spaces(notice.publisher),
        published_at=notice.published_at,
        title_units=split_units(title, tokenizer),
        lead_units=split_units(lead, tokenizer),
    )
