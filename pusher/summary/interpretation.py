"""The policy interpretation's link (政策解读), added to a channel's text where there is room.

It comes last: an SMS carries it only after everything else that fitted and never
instead of the item's own link; a WeChat template carries it in a ``remark`` field when
the template has one and the link fits that field's type; WeCom markdown adds a line.
"""

from __future__ import annotations

from collections.abc import Mapping

from pusher.summary.length import sms_capacity, sms_length, utf8_length
from pusher.summary.wechat import field_fits
from pusher.summary.wecom import WECOM_MAX_BYTES, safe_url

SMS_PREFIX = " 解读 "
LABEL = "政策解读"
REMARK_KEYS = ("remark", "remark1")


def sms_with_interpretation(
    sms: str, *, url: str | None, link: str | None, max_segments: int
) -> str:
    """``sms`` with the interpretation link appended when it fits and the item's link is in."""
    if not url or (link and link not in sms):
        return sms
    longer = sms + SMS_PREFIX + url
    return longer if sms_length(longer) <= sms_capacity(max_segments) else sms


def wechat_with_interpretation(
    values: Mapping[str, str], *, fields: Mapping[str, str], url: str | None
) -> dict[str, str]:
    """Template values with the interpretation link in a ``remark`` field it fits."""
    out = dict(values)
    if not url:
        return out
    for key in REMARK_KEYS:
        kind = fields.get(key)
        for value in (f"{LABEL}：{url}", url):
            if kind is not None and field_fits(kind, value):
                out[key] = value
                break
    return out


def wecom_with_interpretation(
    markdown: str, *, url: str | None, max_bytes: int = WECOM_MAX_BYTES
) -> str:
    """The markdown with a ``[政策解读](url)`` line when it fits in ``max_bytes``."""
    if not url:
        return markdown
    longer = f"{markdown}\n[{LABEL}]({safe_url(url)})"
    return longer if utf8_length(longer) <= max_bytes else markdown
