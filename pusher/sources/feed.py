"""RSS and Atom feeds, read by feedparser (sync: the poller runs it in a thread)."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from typing import Any

import feedparser
from selectolax.lexbor import LexborHTMLParser

from pusher.sources.fetch import web_url
from pusher.sources.found import ExtractError, Found
from pusher.sources.htmlpages import block_text


def read_feed(data: bytes, *, url: str) -> list[Found]:
    """The feed's entries; :class:`ExtractError` for a document that is not a feed."""
    parsed = feedparser.parse(data, sanitize_html=True, resolve_relative_uris=True)
    found = [f for f in (_entry(e) for e in parsed.entries) if f is not None]
    if parsed.get("bozo") and not found:
        problem = parsed.get("bozo_exception")
        raise ExtractError(f"订阅源格式有误，无法读取：{type(problem).__name__}: {problem}"[:300])
    if not parsed.get("version"):
        raise ExtractError("这不是 RSS 或 Atom 订阅源")
    return found

def _entry(entry: Any) -> Found | None:
    link, title = entry.get("link") or "", " ".join((entry.get("title") or "").split())
    if not web_url(link) or not title:
        return None
    html = ""
    if entry.get("content"):
        html = entry.content[0].get("value") or ""
    html = html or entry.get("summary") or ""
    root = LexborHTMLParser(f"<div>{html}</div>").css_first("div")
    return Found(
        url=link,
        title=title[:200],
        body=block_text(root) if root is not None else "",
        published_at=_when(entry.get("published_parsed") or entry.get("updated_parsed")),
        publisher=(entry.get("author") or None),
    )


def _when(parsed: Any) -> datetime | None:
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
