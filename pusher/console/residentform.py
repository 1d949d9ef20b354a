"""The resident form: read, check (phone, grid in scope, duplicates) and prefill."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.models import Region, RegionKind, Resident, ResidentTag, Subscription, Topic
from pusher.web.params import parse_id
from subscriptions.importer import FORMULA_STARTS, OPENID, PHONE, TAG_SPLIT


async def grid_choices(db: AsyncSession, scope: frozenset[int] | None) -> list[tuple[int, str]]:
    query = select(Region.id, Region.name).where(
        Region.kind == RegionKind.GRID, Region.active.is_(True)
    )
    if scope is not None:
        query = query.where(Region.id.in_(scope or {-1}))
    return [(rid, name) for rid, name in await db.execute(query.order_by(Region.path))]


async def resident_values(db: AsyncSession, r: Resident) -> dict[str, Any]:
    tags = (
        await db.scalars(
            select(ResidentTag.tag).where(ResidentTag.resident_id == r.id).order_by(ResidentTag.tag)
        )
    ).all()
    topics = (
        await db.scalars(
            select(Topic.name)
            .join(Subscription, Subscription.topic_id == Topic.id)
            .where(Subscription.resident_id == r.id, Subscription.opted_out.is_(False))
        )
    ).all()
    return {
        "name": r.name,
        "region_id": r.region_id,
        "phone": r.phone or "",
        "openid": r.openid or "",
        "sms_consent": r.sms_consent,
        "sms_opt_out": r.sms_opt_out,
        "wechat_opt_out": r.wechat_opt_out,
        "tags": list(tags),
        "topics": list(topics),
        "tags_text": "、".join(tags),
    }


async def parse_resident(
    db: AsyncSession, form: Mapping[str, Any], scope: frozenset[int] | None, rid: int | None
) -> tuple[dict[str, Any], dict[str, str]]:
    """Values from the posted form, and errors by field in Chinese."""
    text = {
        k: str(form.get(k, "")).strip() for k in ("name", "phone", "openid", "tags", "region_id")
    }
    values: dict[str, Any] = {
        "name": text["name"],
        "phone": text["phone"] or None,
        "openid": text["openid"] or None,
        "region_id": parse_id(text["region_id"]) or 0,
        "sms_consent": "sms_consent" in form,
        "sms_opt_out": "sms_opt_out" in form,
        "wechat_opt_out": "wechat_opt_out" in form,
        "tags_text": text["tags"],
        "tags": list(dict.fromkeys(t[:32] for t in TAG_SPLIT.split(text["tags"]) if t)),
        "topics": [str(t) for t in form.getall("topics", [])] if hasattr(form, "getall") else [],
    }
    errors: dict[str, str] = {}
    if not values["name"]:
        errors["name"] = "请填写姓名"
    elif values["name"].startswith(FORMULA_STARTS):
        errors["name"] = "姓名不能以 = + - @ 开头（导出的表格会把它当作公式）"
    if any(tag.startswith(FORMULA_STARTS) for tag in values["tags"]):
        errors["tags"] = "标签不能以 = + - @ 开头（导出的表格会把它当作公式）"
    if values["phone"] and not PHONE.match(values["phone"]):
        errors["phone"] = "手机号应为 11 位大陆手机号，如 13812345678"
    if values["openid"] and not OPENID.match(values["openid"]):
        errors["openid"] = "openid 格式不正确"
    grids = dict(await grid_choices(db, scope))
    if values["region_id"] not in grids:
        errors["region_id"] = "请选择你负责的网格"
    return values, errors
