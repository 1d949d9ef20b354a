"""What each channel says about an item: computed once per push, stored on the push."""

from __future__ import annotations

from typing import Any

from pusher.models import Item


def item_link(public_url: str, item: Item) -> str:
    return f"{public_url.rstrip('/')}/p/{item.id}"


def texts_for(item: Item, *, public_url: str, signature: str) -> dict[str, Any]:
    """Per-channel text: {"sms": {...}, "wechat": {...}, "wecom": {...}}."""
    link = item_link(public_url, item)
    title = item.title
    return {
        "sms": {
            "text": f"【{signature}】{title} 详见 {link}",
            "params": {"title": title, "url": link},
        },
        "wechat": {"text": title, "params": {"thing1": title[:20]}, "url": link, "title": title},
        "wecom": {"text": f"**{title}**\n[查看全文]({link})", "title": title},
    }
