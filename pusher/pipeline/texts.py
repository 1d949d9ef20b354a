"""What each channel says about an item: computed once per push, stored on the push.

``push.texts`` holds, per channel kind, the text the recipient reads (``text``),
the provider's template parameters (``params``) and the link, plus the SMS
segment count for previews and cost estimates.

For a template-mode SMS account (Aliyun, Tencent: ``sms_templates`` given) the SMS
is an approved template filled for the item (``template``, ``params``, the exact
``text`` after substitution, each variable's length against its limit); an item
no template fits gets ``error_code`` ``no_template`` and the ``reason``, and its
SMS deliveries are recorded failed with them (never sent as free text). A
free-text account (CMPP, the sandbox) takes the summary as ``text``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from channels.base import Channel, ChannelKind
from channels.sms_templates import Registry
from pusher.models import Item, Urgency, utcnow
from pusher.summary import NO_TEMPLATE, Notice, SmsFill, field_problems, render_all

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


def sms_registry(channels: Mapping[ChannelKind, Channel]) -> Registry | None:
    """The approved templates of the SMS account in use; None for a free-text one."""
    templates = getattr(channels.get(ChannelKind.SMS), "templates", None)
    return templates if isinstance(templates, Registry) else None


def texts_for(
    item: Item,
    *,
    tokenizer: Any,
    public_url: str,
    signature: str,
    max_segments: int,
    wechat_fields: Mapping[str, str],
    sms_templates: Registry | None = None,
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
        sms_templates=sms_templates,
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
        "sms": (
            {
                "text": texts.sms,
                "segments": texts.sms_segments,
                "params": {"content": _SIGNATURE.sub("", texts.sms, count=1)},
            }
            if texts.sms_fill is None or sms_templates is None
            else sms_template_texts(texts.sms_fill, sms_templates, free_text=texts.sms)
        ),
        "wechat": wechat,
        "wecom": {"text": texts.wecom, "title": item.title},
        "urgent": item.urgency == Urgency.URGENT,
    }


def sms_template_texts(fill: SmsFill, registry: Registry, *, free_text: str) -> dict[str, Any]:
    """The SMS entry of ``push.texts`` for a template-mode account."""
    entry: dict[str, Any] = {
        "provider": registry.provider,
        "purpose": fill.purpose,
        "template": fill.template,
        "variables": [
            {"name": v.name, "role": v.role, "value": v.value, "chars": v.length, "max": v.max_len}
            for v in fill.variables
        ],
    }
    if fill.ok:
        title = next((v for v in fill.variables if v.role == "title"), None)
        if title is not None:  # a number shared by a family: their names go in front of it
            entry["names_into"] = {"param": title.name, "max": title.max_len}
        return entry | {"text": fill.text, "segments": fill.segments, "params": dict(fill.params)}
    # shown to the reviewer; never sent: the account takes only approved templates
    return entry | {
        "text": "",
        "segments": 0,
        "params": {},
        "template": "",
        "error_code": NO_TEMPLATE,
        "reason": fill.reason,
        "free_text": free_text,
    }
