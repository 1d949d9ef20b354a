"""Grid workers' scope: the regions (and everything under them) they are assigned to."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.models import Region, Role, User, UserRegion


async def scope_of(session: AsyncSession, user: User) -> frozenset[int] | None:
    """Region ids a grid worker may see; None for roles that see every region."""
    if user.role != Role.GRID_WORKER:
        return None
    paths = (
        await session.scalars(
            select(Region.path)
            .join(UserRegion, UserRegion.region_id == Region.id)
            .where(UserRegion.user_id == user.id)
        )
    ).all()
    if not paths:
        return frozenset()
    ids = await session.scalars(
        select(Region.id).where(or_(*(Region.path.startswith(p) for p in paths)))
    )
    return frozenset(ids.all())


def visible(scope: frozenset[int] | None, region_id: int | None) -> bool:
    """True when a row in ``region_id`` is inside ``scope``."""
    return scope is None or (region_id is not None and region_id in scope)
