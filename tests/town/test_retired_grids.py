"""A retired (deactivated) grid keeps its residents for history but takes no part any more:
no push reaches them, the resident form does not offer it, and a roster row naming it is
a row error that says the grid is retired (issue 19)."""

from __future__ import annotations

from sqlalchemy import func, select

from pusher.db import transaction
from pusher.models import Region, Resident
from pusher.settings import Settings
from pusher.town.regions import retire_region
from tests.console.test_console import Console, console, db_of
from tests.console.test_rosters import counts, sheet, upload
from tests.fanout.rig import running, urgent_push

__all__ = ["console"]  # the fixture, imported for these tests


async def _retire(db, region_id: int) -> str:  # type: ignore[no-untyped-def]
    async with transaction(db) as session:
        region = await session.get_one(Region, region_id)
        assert await retire_region(session, region, "并网") == "deactivated"
        return region.name


async def test_residents_of_a_retired_grid_get_no_push(sqlite_settings: Settings) -> None:
    async with running(sqlite_settings) as rig:
        async with rig.resources.db() as session:
            grid, people = (
                await session.execute(
                    select(Resident.region_id, func.count())
                    .group_by(Resident.region_id)
                    .order_by(Resident.region_id)
                    .limit(1)
                )
            ).one()
            everyone = await session.scalar(select(func.count()).select_from(Resident))
        assert people > 0
        await _retire(rig.resources.db, grid)
        rows = await rig.deliveries(await urgent_push(rig))
        async with rig.resources.db() as session:
            retired = set(
                (await session.scalars(select(Resident.id).where(Resident.region_id == grid))).all()
            )
    reached = {d.resident_id for d in rows if d.resident_id is not None}
    assert reached and not reached & retired
    assert len(reached) == (everyone or 0) - people  # everyone else, town-wide


async def test_the_resident_form_neither_offers_nor_takes_a_retired_grid(
    console: Console,
) -> None:
    grid = console.grid_ids[0]
    name = await _retire(db_of(console), grid)
    await console.login("admin")
    page = await (await console.client.get("/residents/new")).text()
    assert f'value="{grid}"' not in page and name not in page
    before = await _count(console)
    resp = await console.post(
        "/residents/new", {"name": "周大爷", "phone": "13698765432", "region_id": str(grid)}
    )
    assert resp.status == 422, await resp.text()  # type: ignore[attr-defined]
    assert await _count(console) == before


async def test_a_roster_row_naming_a_retired_grid_is_a_row_error(console: Console) -> None:
    grid, other = console.grid_ids[0], console.grid_ids[1]
    name = await _retire(db_of(console), grid)
    async with db_of(console)() as db:
        code = await db.scalar(select(Region.code).where(Region.id == grid))
        other_name = await db.scalar(select(Region.name).where(Region.id == other))
    await console.login("admin")
    data = sheet(
        ["姓名", "手机号码", "所属网格"],
        [
            ["周一", "13955550001", name],
            ["周二", "13955550002", code],
            ["周三", "13955550003", other_name],
        ],
    )
    status, page = await upload(console, data)
    assert status == 200 and counts(page) == (1, 0, 0, 2)
    assert page.count(f"网格「{name}」已停用") == 2


async def _count(console: Console) -> int:
    async with db_of(console)() as db:
        return int(await db.scalar(select(func.count()).select_from(Resident)) or 0)


async def test_the_api_refuses_a_resident_in_a_retired_grid(console: Console) -> None:
    grid = console.grid_ids[0]  # the grid worker's own grid, now retired
    name = await _retire(db_of(console), grid)
    async with db_of(console)() as db:
        code = await db.scalar(select(Region.code).where(Region.id == grid))
    before = await _count(console)
    resp = await console.client.post(
        "/api/v1/residents",
        json={"name": "冯一", "grid": code, "phone": "13933330001"},
        headers={"Authorization": "Bearer grid_worker"},
    )
    error = (await resp.json())["error"]
    assert resp.status == 422 and error == f"网格「{name}」已停用，不能再登记居民", error
    assert await _count(console) == before
