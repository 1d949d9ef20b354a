"""Channel-sized summaries of government notices (pure: text in, text out).

``summarize`` turns a notice into a title, key facts and a lead; the renderers fit that
summary into an SMS (segments), WeChat template fields (type limits) and WeCom markdown
(bytes). Nothing here touches the database or the network.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pusher.summary.extract import clean_title, extract_facts, summarize
from pusher.summary.interpretation import (
    sms_with_interpretation,
    wechat_with_interpretation,
    wecom_with_interpretation,
)
from pusher.summary.length import sms_capacity, sms_length, sms_segments, split_units
from pusher.summary.model import ChannelTexts, Facts, Notice, SmsFill, Summary
from pusher.summary.sms import SmsTooShortError, render_sms
from pusher.summary.sms_template import NO_TEMPLATE, fill_template
from pusher.summary.wechat import (
    FIELD_LIMITS,
    UnknownFieldTypeError,
    field_fits,
    field_problems,
    render_wechat_fields,
)
from pusher.summary.wecom import WECOM_MAX_BYTES, escape_markdown, render_wecom_markdown

if TYPE_CHECKING:
    import jieba

    from channels.sms_templates import Registry

__all__ = [
    "FIELD_LIMITS",
    "NO_TEMPLATE",
    "WECOM_MAX_BYTES",
    "ChannelTexts",
    "Facts",
    "Notice",
    "SmsFill",
    "SmsTooShortError",
    "Summary",
    "UnknownFieldTypeError",
    "clean_title",
    "default_sms_segments",
    "escape_markdown",
    "extract_facts",
    "field_fits",
    "field_problems",
    "fill_template",
    "render_all",
    "render_sms",
    "render_wechat_fields",
    "render_wecom_markdown",
    "sms_capacity",
    "sms_length",
    "sms_segments",
    "split_units",
    "summarize",
]

ROUTINE_SMS_SEGMENTS = 1
URGENT_SMS_SEGMENTS = 3


def default_sms_segments(notice: Notice) -> int:
    """One segment for routine items, three for urgent warnings."""
    return URGENT_SMS_SEGMENTS if notice.urgent else ROUTINE_SMS_SEGMENTS


def render_all(
    notice: Notice,
    *,
    tokenizer: jieba.Tokenizer,
    sms_signature: str,
    link: str | None,
    sms_max_segments: int | None = None,
    wechat_fields: Mapping[str, str],
    sms_templates: Registry | None = None,
) -> ChannelTexts:
    """Every channel's text for one notice, for the preview (``None`` segments: default).

    The notice's interpretation link is added last, where there is room (see
    :mod:`pusher.summary.interpretation`). With ``sms_templates`` (a template-mode SMS
    account's registry) the SMS also fills an approved template (``sms_fill``).
    """
    summary = summarize(notice, tokenizer=tokenizer)
    segments = sms_max_segments or default_sms_segments(notice)
    sms = render_sms(
        summary, signature=sms_signature, link=link, max_segments=segments, tokenizer=tokenizer
    )
    extra = notice.interpretation_url
    sms = sms_with_interpretation(sms, url=extra, link=link, max_segments=segments)
    wechat = render_wechat_fields(summary, fields=wechat_fields, tokenizer=tokenizer)
    wecom = render_wecom_markdown(summary, link=link, tokenizer=tokenizer)
    fill = None
    if sms_templates is not None:
        fill = fill_template(
            summary,
            registry=sms_templates,
            signature=sms_signature,
            link=link or "",
            tokenizer=tokenizer,
            body=notice.body,
        )
    return ChannelTexts(
        sms=sms,
        sms_segments=sms_segments(sms),
        wechat=wechat_with_interpretation(wechat, fields=wechat_fields, url=extra),
        wecom=wecom_with_interpretation(wecom, url=extra),
        sms_fill=fill,
    )
