"""JSON endpoints of site platforms: records found by a dot path, fields mapped by paths."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser

from pusher.sources.config import JsonFields, SourceConfig
from pusher.sources.fetch import web_url
from pusher.sources.found import ExtractError, Found, parse_date
from pusher.sources.htmlpages import block_text


def dig(data: Any, path: str | None) -> Any:
    """The value at a dot path (``data.list``, ``rows.0.title``); None when absent."""
    if not path:
        return data
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def read_json(data: bytes, *, url: str, config: SourceConfig) -> list[Found]:
    """The records at ``items_path``, mapped by ``fields``."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ExtractError(f"接口返回的不是 JSON：{exc}"[:300]) from exc
    records = dig(document, config.items_path)
    if not isinstance(records, list):
        raise ExtractError(f"接口返回里找不到列表（路径 {config.items_path or '（根）'}）")
    fields = config.fields or JsonFields()
    return [f for f in (_record(r, fields, url) for r in records) if f is not None]


def _text(record: Any, path: str | None) -> str:
    value = dig(record, path) if path else None
    return str(value).strip() if isinstance(value, str | int | float) else ""


def _record(record: Any, fields: JsonFields, base: str) -> Found | None:
    link = urljoin(base, _text(record, fields.url))
    title = " ".join(_text(record, fields.title).split())
    if not web_url(link) or not title:
        return None
    body = _text(record, fields.body)
    if "<" in body:
        root = LexborHTMLParser(f"<div>{body}</div>").css_first("div")
        body = block_text(root) if root is not None else body
    return Found(
        url=link,
        title=title[:200],
        body=body,
        published_at=parse_date(_text(record, fields.published_at)),
        index_number=_text(record, fields.index_number)[:64] or None,
        doc_number=_text(record, fields.doc_number)[:100] or None,
        publisher=_text(record, fields.publisher)[:100] or None,
    )
