"""One notice as read from a source, and the small parsers every kind shares."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")
_DATE = re.compile(
    r"(\d{4})\s*[-年/.]\s*(\d{1,2})\s*[-月/.]\s*(\d{1,2})\s*日?(?:\s*(\d{1,2}):(\d{2})(?::(\d{2}))?)?"
)
#: dates carried by detail URLs: TRS ``t20150320_57601.htm``, Hanweb ``art/2016/11/22/``
_URL_DATE = re.compile(r"/t(\d{4})(\d{2})(\d{2})_\d+|/art/(\d{4})/(\d{1,2})/(\d{1,2})/")


class ExtractError(Exception):
    """A page, feed or JSON answer that cannot be read (a Chinese sentence)."""


@dataclass
class Found:
    """A notice as a source shows it; only ``url`` and ``title`` are always there."""

    url: str
    title: str
    body: str = ""
    published_at: datetime | None = None
    formed_at: datetime | None = None
    publisher: str | None = None
    index_number: str | None = None
    doc_number: str | None = None
    topic: str | None = None
    column: str | None = None
    attachments: list[dict[str, str]] = field(default_factory=list)
    interpretation_url: str | None = None

    def digest(self) -> str:
        """What a correction is measured by: the title and the body's text."""
        text = f"{self.title.strip()}\n{' '.join(self.body.split())}"
        return hashlib.sha256(text.encode()).hexdigest()


def parse_date(text: str | None) -> datetime | None:
    """The first date in ``text`` (``2015-03-20 08:00``, ``2020年08月02日`` …), Beijing
    time, as aware UTC; None when there is none or it is not a real date."""
    if not text:
        return None
    for m in _DATE.finditer(text):
        y, mo, d, h, mi, sec = (int(p) if p else 0 for p in m.groups())
        try:
            local = datetime(y, mo, d, h, mi, sec, tzinfo=BEIJING)
        except ValueError:
            continue
        return local.astimezone(UTC)
    return None


def date_in_url(url: str) -> datetime | None:
    """The publication date a TRS or Hanweb detail URL carries, if any."""
    m = _URL_DATE.search(url)
    if m is None:
        return None
    y, mo, d = (int(g) for g in (m.groups()[:3] if m.group(1) else m.groups()[3:]))
    try:
        return datetime(y, mo, d, tzinfo=BEIJING).astimezone(UTC)
    except ValueError:
        return None


def clean_label(text: str) -> str:
    """A label without padding (``索&ensp;引&ensp;号：`` → ``索引号``)."""
    return re.sub(r"[\s\u2002\u2003\u3000\xa0:：]+", "", text)
