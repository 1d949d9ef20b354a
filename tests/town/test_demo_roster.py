"""``pusher demo`` builds its residents the way a grid office does: a roster with the
office's headers, checked and applied by the same code as the console's import and the
API's bulk upsert (issue 19). Re-importing the same roster changes nobody but the
residents who opted out of a topic themselves after the import."""

from __future__ import annotations

import random

from sqlalchemy import func, select

from pusher.db import SessionFactory, transaction
from pusher.demo.town import build_town, roster_cells
from pusher.models import AuditLog, Region, RegionKind, Resident, Subscription
from pusher.rosters.upload import upsert


async def test_the_demo_town_is_a_roster_import_that_round_trips(db: SessionFactory) -> None:
    async with transaction(db) as session:
        town = await build_town(session, residents=120, seed=3)
    async with db() as session:
        imports = (
            await session.scalars(
                select(AuditLog.detail).where(AuditLog.action == "residents.import")
            )
        ).all()
        keys = set((await session.scalars(select(Resident.stable_key))).all())
        total = await session.scalar(select(func.count()).select_from(Resident))
        grids = list(
            (
                await session.scalars(
                    select(Region).where(Region.kind == RegionKind.GRID).order_by(Region.path)
                )
            ).all()
        )
    assert total == town.residents == 120
    assert imports == [{"added": 120, "changed": 0}]  # one import, by the roster code
    assert keys == {f"D{n:05d}" for n in range(1, 121)}
    rng = random.Random(3)  # the same draws build_town made before the roster
    cells = roster_cells(rng, grids, 120)
    async with transaction(db) as session:
        report = await upsert(
            session, cells, scope=None, default_consent=False, actor="test", apply=False
        )
    async with db() as session:
        opted_out = set(
            (
                await session.scalars(
                    select(Subscription.resident_id).where(Subscription.opted_out.is_(True))
                )
            ).all()
        )
    changed = {r.resident_id: r.changes for r in report.rows if r.action != "unchanged"}
    # the roster lists topics subscribed; the residents who opted out themselves keep
    # their choice (a roster never subscribes them again), so nothing differs
    assert opted_out and changed == {}
