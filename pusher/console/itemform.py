"""The item form: catalogue fields in, ``ItemIn`` out, or errors per field in Chinese."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.console import catalogue_form
from pusher.models import Item, Region, RegionKind, Topic
from pusher.pipeline.ingest import ItemIn

LOCAL = ZoneInfo("Asia/Shanghai")
TEXT_FIELDS = ("title", "body", "publisher", "domain", "region_code", "disclosure", "urgency")
DATE_FIELDS = ("formed_at", "published_at")
LABELS = {
    "title": "标题",
    "body": "正文",
    "publisher": "公开主体",
    "domain": "领域",
    "region_code": "涉及地区",
    "disclosure": "公开属性",
    "urgency": "紧急程度",
    "source_url": "来源链接",
    "formed_at": "形成日期",
    "published_at": "发布日期",
}
ALL_LABELS = LABELS | catalogue_form.LABELS


@dataclass
class ItemForm:
    """What the user typed, and what is wrong with it (field → message)."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)


def from_item(item: Item, region_code: str) -> ItemForm:
    """A form filled with a stored item (for editing)."""
    values = {name: str(getattr(item, name) or "") for name in TEXT_FIELDS if name != "region_code"}
    values["region_code"] = region_code
    values["source_url"] = item.source_url or ""
    for name in DATE_FIELDS:
        stamp: datetime | None = getattr(item, name)
        values[name] = stamp.astimezone(LOCAL).date().isoformat() if stamp else ""
    return ItemForm(values | catalogue_form.values_of(item))


def blank(publisher: str = "") -> ItemForm:
    return ItemForm({"publisher": publisher, "disclosure": "主动公开", "urgency": "normal"})


def _message(error: Mapping[str, Any]) -> str:
    kind = str(error["type"])
    label = ALL_LABELS.get(catalogue_form.error_field(error["loc"]), "")
    if kind in ("interpretation_empty", "control_character"):
        return str(error["msg"])
    if kind in ("missing", "string_too_short"):
        return f"请填写{label}"
    if kind == "string_too_long":
        return f"{label}太长，最多 {error.get('ctx', {}).get('max_length')} 字"
    if kind.startswith("url"):
        return "链接格式不正确，应以 http:// 或 https:// 开头"
    if kind == "enum":
        return "请从列表中选择"
    return f"{label}格式不正确"


def _date(raw: str) -> datetime | None:
    if not raw:
        return None
    return datetime.combine(date.fromisoformat(raw), datetime.min.time(), LOCAL)


def parse(form: Mapping[str, Any], domains: set[str]) -> tuple[ItemForm, ItemIn | None]:
    """Read the posted form; returns the form (with errors) and the item when valid."""
    values = {name: str(form.get(name, "")).strip() for name in ALL_LABELS}
    result = ItemForm(values)
    data: dict[str, Any] = {k: values[k] for k in TEXT_FIELDS if values[k]}
    if values["source_url"]:
        data["source_url"] = values["source_url"]
    data |= catalogue_form.data_of(values, result.errors)
    for name in DATE_FIELDS:
        try:
            data[name] = _date(values[name])
        except ValueError:
            result.errors[name] = "日期格式应为 年-月-日，例如 2026-01-31"
    if values["domain"] and values["domain"] not in domains:
        result.errors["domain"] = "请从列表中选择领域"
    try:
        item = ItemIn.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            name = catalogue_form.error_field(error["loc"])
            result.errors.setdefault(name, _message(error))
        return result, None
    return result, (None if result.errors else item)


async def choices(session: AsyncSession) -> dict[str, Any]:
    """Options for the form's selects: topics and regions (indented by level)."""
    topics = (
        await session.scalars(select(Topic.name).where(Topic.active.is_(True)).order_by(Topic.id))
    ).all()
    regions = (
        await session.execute(
            select(Region.code, Region.name, Region.kind, Region.path)
            .where(Region.active.is_(True))  # a deactivated region gets no new items
            .order_by(Region.path)
        )
    ).all()
    indent = {RegionKind.COUNTY: 0, RegionKind.TOWN: 1, RegionKind.VILLAGE: 2, RegionKind.GRID: 3}
    options = [
        (code, "　" * indent.get(RegionKind(kind), 0) + name) for code, name, kind, _ in regions
    ]
    return {
        "topics": list(topics),
        "regions": options,
        "labels": ALL_LABELS,
        "labels_catalogue": list(catalogue_form.LABELS),
    }
