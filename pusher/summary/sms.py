"""SMS text: signature, title, the facts that fit, and always the link to the full notice."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pusher.summary.extract import amount_label
from pusher.summary.length import fit_units, sms_capacity, sms_length, split_units, units_of
from pusher.summary.model import Summary

if TYPE_CHECKING:
    import jieba

HEAD_MIN_CHARS = 20
_SHORT_AMOUNT_LABEL = {"缴费标准": "缴费", "补贴标准": "标准", "金额": "金额"}
MIN_BODY_CHARS = 10
LINK_PREFIX = "详见 "
_END = "。"
_CLOSERS = ("。", "！", "？", "；")
# Carriers read 【…】 inside the body as a second signature and reject the message.
_BRACKETS = str.maketrans({"【": "「", "】": "」", "\n": "", "\r": ""})


class SmsTooShortError(ValueError):
    """The signature leaves too little room for any message."""


def sms_signature(signature: str) -> str:
    """``"某某镇"`` or ``"【某某镇】"`` → ``"【某某镇】"``."""
    name = signature.strip().removeprefix("【").removesuffix("】")
    return f"【{name}】"


def render_sms(
    summary: Summary,
    *,
    signature: str,
    link: str | None,
    max_segments: int = 1,
    tokenizer: jieba.Tokenizer,
) -> str:
    """The full SMS (with 【signature】) within ``max_segments`` segments.

    The link comes first: its room is kept before anything else, so every SMS lets the
    resident open the whole notice. Then the title (or, for warnings, the warning
    itself), shortened between units to leave that room, then deadline, amount, who is
    eligible, place, phone and the lead sentence where they fit. Pieces are dropped
    whole; only the head is shortened, and only between units.
    """
    sig = sms_signature(signature)
    budget = sms_capacity(max_segments) - sms_length(sig)
    if budget < MIN_BODY_CHARS:
        raise SmsTooShortError(f"signature {sig!r} leaves {budget} characters")
    facts = fact_pieces(summary)
    head_units = _head_units(summary, tokenizer)
    link_room = sms_length(LINK_PREFIX + link) if link else 0
    if budget - link_room < MIN_BODY_CHARS:  # a link too long for this SMS: leave it out
        link, link_room = None, 0
    room = budget - link_room
    reserve = sms_length(_format("", facts[:1], None, "")) if facts else 0
    head_limit = max(min(HEAD_MIN_CHARS, room - 1), room - reserve - len(_END))
    head = fit_units(head_units, head_limit, measure=sms_length).translate(_BRACKETS)
    chosen = _fill(head, facts, link, summary, budget)
    return sig + chosen


def _fill(head: str, facts: Sequence[str], link: str | None, summary: Summary, budget: int) -> str:
    kept: list[str] = []
    for piece in facts:
        if piece.split("：")[-1] in head:
            continue
        if sms_length(_format(head, [*kept, piece], link, "")) <= budget:
            kept.append(piece)
    url = link if link and sms_length(_format(head, kept, link, "")) <= budget else None
    lead = "" if summary.urgent else summary.lead.translate(_BRACKETS)
    if not lead or lead.endswith("…") or sms_length(_format(head, kept, url, lead)) > budget:
        lead = ""
    return _format(head, kept, url, lead)


def _format(head: str, facts: Sequence[str], link: str | None, lead: str) -> str:
    text = head
    if lead:
        text = _close(text) + lead
    if facts:
        text = _close(text) + "；".join(facts)
    text = _close(text)
    if link:
        text += LINK_PREFIX + link
    return text


def _close(text: str) -> str:
    return text if not text or text.endswith(_CLOSERS) else text + _END


def _head_units(summary: Summary, tokenizer: jieba.Tokenizer) -> tuple[str, ...]:
    title = units_of(summary.title, summary.title_units, tokenizer)
    if not summary.urgent:
        return title
    lead = units_of(summary.lead, summary.lead_units, tokenizer)
    head = split_units(summary.warning, tokenizer) if summary.warning else title
    return (*head, "：", *lead) if lead else head


def fact_pieces(summary: Summary) -> list[str]:
    """Labelled facts in priority order: deadline, amount, eligible, place, phone."""
    facts = summary.facts
    pieces: list[str] = []
    # a warning's first date is when it was issued; its deadlines are in the lead already
    deadlines = facts.deadlines
    deadline = deadlines[0] if summary.urgent and deadlines else primary_deadline(deadlines)
    if deadline:
        label = "发布时间" if summary.urgent else "时间"
        pieces.append(deadline if deadline.startswith("截") else f"{label}：{deadline}")
    labelled = (
        (_SHORT_AMOUNT_LABEL[amount_label(summary)], facts.amounts),
        ("对象", facts.eligible),
        ("地点", facts.places),
        ("电话", facts.phones),
    )
    pieces += [f"{label}：{values[0]}" for label, values in labelled if values]
    return [p.translate(_BRACKETS) for p in pieces]


def primary_deadline(deadlines: Sequence[str]) -> str:
    """The deadline that matters most: the first one marked 截止/前/止/至, else the first."""
    for text in deadlines:
        if any(mark in text for mark in ("截止", "截至", "前", "止", "至", "到", "起")):
            return text
    return deadlines[0] if deadlines else ""
