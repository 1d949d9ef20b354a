"""What each channel says about an item: computed once per push, stored on the push.

``push.texts`` holds, per channel kind, the text the recipient reads (``text``),
the provider's template parameters (``params``) and the link, plus the SMS
segment count for previews and cost estimates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from pusher.models import Item, Urgency, utcnow
from pusher.summary import Notice, field_problems, render_all

_BEIJING = ZoneInfo("Asia/Shanghai")

_SIGNATURE = re.compile(r"^【[^】]*】")
_WEB = re.compile(r"^https?://[^\s]+$")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def short_code(number: int) -> str:
    """Base-36 code of ``number`` (short links stay short)."""
    code = ""
    while True:
        number, rest = divmod(number, 36)
        code = _DIGITS[rest] + code
        if number == 0:
            return code


def item_link(public_url: str, item: Item) -> str:
    """The short link residents follow: ``/s/<code>`` served by pusher itself."""
    assert item.id is not None
    return f"{public_url.rstrip('/')}/s/{short_code(item.id)}"


def interpretation_link(item: Item) -> str | None:
    """The http(s) link of the item's policy interpretation (its page, else its attachment)."""
    value = item.interpretation or {}
    attachment = value.get("attachment")
    candidates = [value.get("url"), attachment.get("url") if isinstance(attachment, dict) else None]
    return next((u for u in candidates if isinstance(u, str) and _WEB.match(u)), None)


def texts_for(
    item: Item,
    *,
    tokenizer: Any,
    public_url: str,
    signature: str,
    max_segments: int,
    wechat_fields: Mapping[str, str],
) -> dict[str, Any]:
    """Per-channel texts: {"sms": {...}, "wechat": {...}, "wecom": {...}, "link": ...}."""
    link = item_link(public_url, item)
    notice = Notice(
        title=item.title,
        body=item.body,
        publisher=item.publisher,
        urgency=item.urgency,
        url=link,
        # a time field is never left empty: subscription notices refuse an empty value
        published_at=(item.published_at or utcnow().astimezone(_BEIJING)).date(),
        interpretation_url=interpretation_link(item),
    )
    texts = render_all(
        notice,
        tokenizer=tokenizer,
        sms_signature=signature,
        link=link,
        sms_max_segments=max_segments,
        wechat_fields=wechat_fields,
    )
    extra = [f"政策解读：{notice.interpretation_url}"] if notice.interpretation_url else []
    wechat_text = "\n".join([item.title, *(v for v in texts.wechat.values() if v), link, *extra])
    # A field the item cannot fill validly would be answered 47003: the message goes as
    # the text fallback (no params; see channels.wechat) and the texts name the fields.
    unfilled = field_problems(wechat_fields, texts.wechat)
    wechat: dict[str, Any] = {
        "text": wechat_text,
        "params": {} if unfilled else texts.wechat,
        "url": link,
        "title": item.title,
    }
    if unfilled:
        wechat["unfilled"] = unfilled
    return {
        "link": link,
        "sms": {
            "text": texts.sms,
            "segments": texts.sms_segments,
            "params": {"content": _SIGNATURE.sub("", texts.sms, count=1)},
        },
        "wechat": wechat,
        "wecom": {"text": texts.wecom, "title": item.title},
        "urgent": item.urgency == Urgency.URGENT,
    }
