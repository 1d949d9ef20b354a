"""The item form's 公开目录信息 section: catalogue fields, the interpretation, attachments.

Text boxes in, the ``ItemIn`` keys out: channels are separated by 、 or commas, the
attachments are one per line as ``名称 链接`` (the link last), the interpretation is its
text, link, attachment, 解读人 and 联系方式. Errors are the form's (field → Chinese).
"""

from __future__ import annotations

import re
from typing import Any

from pusher.models import Item

LABELS = {
    "basis": "依据",
    "time_limit_days": "时限（工作日）",
    "audience": "公开对象",
    "disclosure_channels": "公开渠道",
    "doc_number": "发文字号",
    "index_number": "索引号",
    "attachments": "附件",
    "jd_text": "政策解读文字",
    "jd_url": "政策解读链接",
    "jd_file_name": "解读附件名称",
    "jd_file_url": "解读附件链接",
    "jd_by": "解读人",
    "jd_contact": "联系方式",
}
PLAIN = ("basis", "audience", "doc_number", "index_number")
_SEPARATORS = re.compile(r"[、,，;；]")
_INTERPRETATION = {"text": "jd_text", "url": "jd_url", "by": "jd_by", "contact": "jd_contact"}


def values_of(item: Item) -> dict[str, str]:
    """The section's boxes filled from a stored item."""
    values = {name: str(getattr(item, name) or "") for name in PLAIN}
    values["time_limit_days"] = "" if item.time_limit_days is None else str(item.time_limit_days)
    values["disclosure_channels"] = "、".join(item.disclosure_channels or [])
    values["attachments"] = "\n".join(
        f"{a.get('name', '')} {a.get('url', '')}" for a in item.attachments or []
    )
    jd = item.interpretation or {}
    values |= {box: str(jd.get(key) or "") for key, box in _INTERPRETATION.items()}
    file = jd.get("attachment") or {}
    values["jd_file_name"] = str(file.get("name") or "")
    values["jd_file_url"] = str(file.get("url") or "")
    return values


def _attachments(raw: str) -> list[dict[str, str]]:
    rows = []
    for line in raw.splitlines():
        parts = line.strip().rsplit(None, 1)
        if parts:
            url = parts[-1]
            name = parts[0] if len(parts) == 2 else url.rsplit("/", 1)[-1]
            rows.append({"name": name, "url": url})
    return rows


def _interpretation(values: dict[str, str]) -> dict[str, Any] | None:
    jd: dict[str, Any] = {key: values[box] for key, box in _INTERPRETATION.items() if values[box]}
    if values["jd_file_url"]:
        name = values["jd_file_name"] or values["jd_file_url"].rsplit("/", 1)[-1]
        jd["attachment"] = {"name": name, "url": values["jd_file_url"]}
    return jd or None


def data_of(values: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    """The ``ItemIn`` keys of the section's boxes (a bad 时限 goes to ``errors``)."""
    data: dict[str, Any] = {name: values[name] for name in PLAIN if values[name]}
    days = values["time_limit_days"]
    if days:
        if days.isascii() and days.isdigit() and len(days) <= 4:
            data["time_limit_days"] = int(days)
        else:
            errors["time_limit_days"] = "时限应为工作日天数，例如 20"
    channels = [c.strip() for c in _SEPARATORS.split(values["disclosure_channels"]) if c.strip()]
    if channels:
        data["disclosure_channels"] = channels
    if attachments := _attachments(values["attachments"]):
        data["attachments"] = attachments
    if (jd := _interpretation(values)) is not None:
        data["interpretation"] = jd
    return data


def error_field(loc: tuple[int | str, ...]) -> str:
    """The form box a validation error's location points at."""
    head = str(loc[0]) if loc else "title"
    if head != "interpretation" or len(loc) < 2:
        return head
    key = str(loc[1])
    return "jd_file_url" if key == "attachment" else _INTERPRETATION.get(key, "jd_text")
