"""A source as configured in the console or the API (``/api/v1/sources``).

``config`` by kind:

- ``rss``: nothing needed (the feed's entries carry title, link, date and text).
- ``html``: ``item_selector`` (CSS for the list's links; default: links that look like
  TRS or Hanweb detail pages), ``next_selector`` (the next-page link; default: a link
  labelled 下一页, or TRS ``index_N.html`` pages), ``max_pages`` (pagination depth),
  ``title_selector``, ``body_selector``, ``date_selector`` (detail pages; defaults: the
  ``ArticleTitle``/``PubDate`` meta, the index table, the usual body containers).
- ``json``: ``items_path`` (dot path to the list of records), ``fields`` (our field →
  dot path in a record: ``title``, ``url``, ``body``, ``published_at``, ``index_number``,
  ``doc_number``, ``publisher``), ``fetch_detail`` (read each record's page for the body).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from pusher.pipeline.ingest import Line
from rules.model import DOMAINS

_PATH = r"^[A-Za-z0-9_.\-]{1,100}$"


class Kind(StrEnum):
    RSS = "rss"
    HTML = "html"
    JSON = "json"


class JsonFields(BaseModel):
    """Where each of our fields is in one JSON record (dot paths)."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(default="title", pattern=_PATH)
    url: str = Field(default="url", pattern=_PATH)
    body: str | None = Field(default=None, pattern=_PATH)
    published_at: str | None = Field(default=None, pattern=_PATH)
    index_number: str | None = Field(default=None, pattern=_PATH)
    doc_number: str | None = Field(default=None, pattern=_PATH)
    publisher: str | None = Field(default=None, pattern=_PATH)


class SourceConfig(BaseModel):
    """Per-kind settings (all optional: most county sites need none)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    item_selector: str | None = Field(default=None, max_length=200)
    next_selector: str | None = Field(default=None, max_length=200)
    max_pages: int = Field(default=3, ge=1, le=20)
    title_selector: str | None = Field(default=None, max_length=200)
    body_selector: str | None = Field(default=None, max_length=200)
    date_selector: str | None = Field(default=None, max_length=200)
    items_path: str | None = Field(default=None, pattern=_PATH)
    fields: JsonFields | None = None
    fetch_detail: bool = False


class SourceIn(BaseModel):
    """A source to create or replace."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: Line = Field(min_length=1, max_length=100)
    kind: Kind
    url: HttpUrl
    region_code: Line = Field(min_length=1, max_length=32)
    domain: str | None = Field(default=None, max_length=64)
    interval_minutes: int = Field(default=30, ge=5, le=7 * 24 * 60)
    enabled: bool = True
    config: SourceConfig = Field(default_factory=SourceConfig)

    @field_validator("url")
    @classmethod
    def _web_only(cls, value: HttpUrl) -> HttpUrl:
        if len(str(value)) > 500:
            raise ValueError("网址不能超过 500 个字符")
        return value

    @field_validator("domain")
    @classmethod
    def _known_domain(cls, value: str | None) -> str | None:
        if value and value not in DOMAINS:
            raise ValueError(f"不是 26 个标准领域之一：{value}")
        return value or None
