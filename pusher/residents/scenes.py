"""QR scenes and followers: a village's or grid's permanent QR code carries ``r<code>``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.models import Region, RegionKind, WxFollower, utcnow

PREFIX = "r"
#: regions that get a QR code (and a poster)
QR_KINDS = (RegionKind.VILLAGE.value, RegionKind.GRID.value)


def scene_for(region: Region) -> str:
    """The permanent string scene of ``region``'s QR code (at most 64 characters)."""
    return f"{PREFIX}{region.code}"


async def region_for_scene(session: AsyncSession, scene: str) -> Region | None:
    """The village or grid a scene names, or None for anything else."""
    if not scene.startswith(PREFIX) or len(scene) > 64:
        return None
    region = await session.scalar(select(Region).where(Region.code == scene[len(PREFIX) :]))
    return region if region is not None and region.kind in QR_KINDS else None


async def place(session: AsyncSession, openid: str, region: Region, scene: str) -> WxFollower:
    """Record (or move) the follower to ``region``: the pending follower record."""
    follower = await session.get(WxFollower, openid)
    if follower is None:
        follower = WxFollower(openid=openid)
        session.add(follower)
    follower.region_id, follower.scene, follower.following = region.id, scene, True
    follower.last_seen_at = utcnow()
    return follower


async def seen(session: AsyncSession, openid: str) -> WxFollower:
    """The follower (created without a region when unknown), marked seen now: a message
    from them opens WeChat's customer-service window."""
    follower = await session.get(WxFollower, openid)
    if follower is None:
        follower = WxFollower(openid=openid)
        session.add(follower)
    follower.last_seen_at = utcnow()
    return follower


async def town_of(session: AsyncSession, region: Region) -> Region | None:
    """The town (镇/街道) above ``region``."""
    codes = [c for c in region.path.split("/") if c]
    rows = await session.scalars(select(Region).where(Region.code.in_(codes)))
    return next((r for r in rows if r.kind == RegionKind.TOWN.value), None)
