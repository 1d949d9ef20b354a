"""The catalogue block of the public item page ``/p/<id>``: numbers, basis, interpretation.

Everything stored is outside input (a publisher's form, a county page read by the poller),
so every value is escaped and only http(s) links become links; any other stored link is
shown as nothing at all.
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pusher.models import Item

LOCAL = ZoneInfo("Asia/Shanghai")
STYLE = "margin:1rem 0;padding:.5rem 1rem;background:#f6f6f6;font-size:.95rem"


def web_link(url: Any) -> str | None:
    """``url`` when it is an http(s) link with a host, else None."""
    if not isinstance(url, str):
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def anchor(url: Any, name: Any) -> str:
    """An escaped link (opened without a referrer), or "" when ``url`` is not http(s)."""
    href = web_link(url)
    if href is None:
        return ""
    text = escape(str(name or href))
    return f'<a href="{escape(href)}" rel="noopener noreferrer">{text}</a>'


def _rows(item: Item) -> list[tuple[str, str]]:
    formed = item.formed_at.astimezone(LOCAL).strftime("%Y-%m-%d") if item.formed_at else ""
    pairs = [
        ("发文字号", item.doc_number or ""),
        ("索引号", item.index_number or ""),
        ("成文日期", formed),
        ("依据", item.basis or ""),
    ]
    return [(label, escape(value)) for label, value in pairs if value]


def interpretation_html(value: dict[str, Any] | None) -> str:
    """政策解读: the link or attachment, the text, and who interprets it with their contact."""
    if not value:
        return ""
    parts: list[str] = []
    if link := anchor(value.get("url"), "查看政策解读"):
        parts.append(link)
    attachment = value.get("attachment")
    if isinstance(attachment, dict):
        parts.append(anchor(attachment.get("url"), attachment.get("name")))
    if isinstance(text := value.get("text"), str) and text:
        parts.append(f'<span style="white-space:pre-wrap">{escape(text)}</span>')
    who = "，".join(
        f"{label}：{escape(str(value[key]))}"
        for key, label in (("by", "解读人"), ("contact", "联系方式"))
        if value.get(key)
    )
    if who:
        parts.append(who)
    shown = [part for part in parts if part]
    return f"<h2>政策解读</h2><div>{'<br>'.join(shown)}</div>" if shown else ""


def attachments_html(value: list[dict[str, Any]] | None) -> str:
    """The attachments as links to where they are published (never copied here)."""
    links = [anchor(a.get("url"), a.get("name")) for a in value or [] if isinstance(a, dict)]
    items = "".join(f"<li>{link}</li>" for link in links if link)
    return f"<h2>附件</h2><ul>{items}</ul>" if items else ""


def catalogue_html(item: Item) -> str:
    """The block under the body: catalogue rows, the interpretation and the attachments."""
    rows = "".join(f"<div>{label}：{value}</div>" for label, value in _rows(item))
    block = rows + interpretation_html(item.interpretation) + attachments_html(item.attachments)
    return f'<section style="{STYLE}">{block}</section>' if block else ""
