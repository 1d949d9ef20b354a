"""Regions: create, rename, move, deactivate (with the reason) or delete when unused.

``Region.path`` holds the codes root → leaf; a move rewrites the path of the region and
of everything under it in one statement. A rename or move sets ``updated_at``, which the
rulebook's fingerprint reads, so matching sees the new name at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import String, exists, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.errors import Conflict, InvalidInput, NotFound
from pusher.models import (
    Delivery,
    Group,
    GroupChat,
    Item,
    Region,
    RegionKind,
    Resident,
    Source,
    UserRegion,
    WxBinding,
    utcnow,
)
from pusher.town.codes import check_under, kind_of_code, next_grid_code

MAX_NAME = 64
MAX_REASON = 200


@dataclass(frozen=True)
class RegionIn:
    """A region as entered: its code (empty for a grid: the next free one), name, parent."""

    name: str
    code: str = ""
    parent_code: str | None = None


def clean_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name:
        raise InvalidInput("请填写名称。", field="name")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"名称不能超过 {MAX_NAME} 个字。", field="name")
    return name


async def by_code(session: AsyncSession, code: str) -> Region:
    region = await session.scalar(select(Region).where(Region.code == code))
    if region is None:
        raise NotFound(f"区划代码「{code[:20]}」不存在。")
    return region


async def get_region(session: AsyncSession, region_id: int) -> Region:
    region = await session.get(Region, region_id)
    if region is None:
        raise NotFound("区域不存在。")
    return region


async def create_region(session: AsyncSession, data: RegionIn) -> Region:
    """Add one region under its parent (a root only for a county or town)."""
    name = clean_name(data.name)
    parent = await by_code(session, data.parent_code) if data.parent_code else None
    code = data.code.strip()
    if not code and parent is not None and parent.kind == RegionKind.VILLAGE:
        taken = set(
            (await session.scalars(select(Region.code).where(Region.parent_id == parent.id))).all()
        )
        code = next_grid_code(parent.code, taken)
    kind = kind_of_code(code)
    check_under(code, kind, parent.code if parent else None, parent.kind if parent else None)
    if parent is not None and not parent.active:
        raise Conflict(f"上级「{parent.name}」已停用，不能在其下新建。")
    if await session.scalar(select(Region.id).where(Region.code == code)):
        raise Conflict(f"区划代码「{code}」已存在。")
    region = Region(
        code=code,
        name=name,
        kind=kind,
        parent_id=parent.id if parent else None,
        path=f"{parent.path if parent else '/'}{code}/",
        updated_at=utcnow(),
    )
    session.add(region)
    await session.flush()
    return region


async def rename_region(session: AsyncSession, region: Region, name: str) -> Region:
    region.name = clean_name(name)
    region.updated_at = utcnow()
    await session.flush()
    return region


async def move_region(session: AsyncSession, region: Region, parent_code: str) -> Region:
    """Put ``region`` (and everything under it) under another parent of the same level."""
    parent = await by_code(session, parent_code)
    current = await session.get(Region, region.parent_id) if region.parent_id else None
    if current is None or parent.kind != current.kind:
        raise InvalidInput("只能移到同一级别的另一个上级之下。", field="parent_code")
    if parent.path.startswith(region.path):
        raise InvalidInput("不能移到自己或自己的下级之下。", field="parent_code")
    if not parent.active:
        raise Conflict(f"上级「{parent.name}」已停用。")
    old, new = region.path, f"{parent.path}{region.code}/"
    await session.execute(
        update(Region)
        .where(Region.path.startswith(old))
        .values(
            path=literal(new, String).concat(func.substr(Region.path, len(old) + 1)),
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    region.parent_id = parent.id
    await session.flush()
    await session.refresh(region)
    return region


async def in_use(session: AsyncSession, region: Region) -> bool:
    """True when residents, items, pushes, chats, groups, users or sources refer to it."""
    rid = region.id
    checks = (
        select(Resident.id).where(Resident.region_id == rid),
        select(Item.id).where(Item.region_id == rid),
        select(Delivery.id).where(Delivery.region_id == rid),
        select(GroupChat.id).where(GroupChat.region_id == rid),
        select(Group.id).where(Group.region_id == rid),
        select(UserRegion.user_id).where(UserRegion.region_id == rid),
        select(Source.id).where(Source.region_id == rid),
        select(WxBinding.id).where(WxBinding.region_id == rid),
    )
    return bool(await session.scalar(select(or_(*(exists(q) for q in checks)))))


async def retire_region(session: AsyncSession, region: Region, reason: str) -> str:
    """Delete an unused leaf; deactivate (with ``reason``) one with residents or history.

    Answers ``"deleted"`` or ``"deactivated"``.
    """
    children = await session.scalar(
        select(func.count()).where(Region.parent_id == region.id, Region.active.is_(True))
    )
    if children:
        raise Conflict(f"「{region.name}」下还有 {children} 个在用的下级区域，请先停用或移走。")
    has_children = await session.scalar(select(exists().where(Region.parent_id == region.id)))
    if not has_children and not await in_use(session, region):
        await session.delete(region)
        await session.flush()
        return "deleted"
    why = " ".join(reason.split())[:MAX_REASON]
    if not why:
        raise InvalidInput("这个区域有居民或历史记录，只能停用，请填写停用原因。", field="reason")
    region.active, region.inactive_reason, region.updated_at = False, why, utcnow()
    await session.flush()
    return "deactivated"


async def reactivate_region(session: AsyncSession, region: Region) -> Region:
    region.active, region.inactive_reason, region.updated_at = True, None, utcnow()
    await session.flush()
    return region


async def has_admin_regions(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(exists().where(Region.kind == RegionKind.TOWN))))


def region_json(region: Region) -> dict[str, object]:
    return {
        "id": region.id,
        "code": region.code,
        "name": region.name,
        "kind": region.kind,
        "parent_id": region.parent_id,
        "path": region.path,
        "active": region.active,
        "inactive_reason": region.inactive_reason,
    }
