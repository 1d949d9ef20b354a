"""Regions: codes and levels, import with a row-level report (all or nothing), create,
move, rename, and retire (delete when unused, deactivate with a reason otherwise)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pusher.db import SessionFactory, transaction
from pusher.errors import Conflict, InvalidInput
from pusher.models import Region, RegionKind, Resident
from pusher.town.region_import import import_regions
from pusher.town.regions import (
    RegionIn,
    by_code,
    create_region,
    move_region,
    rename_region,
    retire_region,
)

COUNTY, TOWN = "360123000000", "360123101000"
V1, V2 = "360123101001", "360123101002"


def rows(*triples: tuple[str, str, str]) -> list[dict[str, str]]:
    return [{"代码": c, "名称": n, "上级代码": p} for c, n, p in triples]


GOOD = rows(
    (COUNTY, "示范县", ""),
    (V1, "东山村", TOWN),  # a child before its parent: the order in the file does not matter
    (TOWN, "青山镇", COUNTY),
    (V2, "西河村", TOWN),
    (f"{V1}01", "东山村第一网格", V1),
)


async def count(db: SessionFactory) -> int:
    async with db() as session:
        return int(await session.scalar(select(func.count()).select_from(Region)) or 0)


async def test_import_builds_the_tree_with_paths_and_levels(db: SessionFactory) -> None:
    async with transaction(db) as session:
        report = await import_regions(session, GOOD)
    assert report.ok, report.errors
    assert (report.created, report.total) == (5, 5)
    async with db() as session:
        grid = await by_code(session, f"{V1}01")
        town = await by_code(session, TOWN)
    assert grid.kind == RegionKind.GRID and town.kind == RegionKind.TOWN
    assert grid.path == f"/{COUNTY}/{TOWN}/{V1}/{V1}01/"


async def test_reimport_changes_only_names(db: SessionFactory) -> None:
    async with transaction(db) as session:
        await import_regions(session, GOOD)
    again = [dict(r) for r in GOOD]
    again[3]["名称"] = "西河社区"
    async with transaction(db) as session:
        report = await import_regions(session, again)
    assert (report.created, report.renamed, report.unchanged) == (0, 1, 4)
    async with db() as session:
        assert (await by_code(session, V2)).name == "西河社区"


@pytest.mark.parametrize(
    ("bad", "row", "says"),
    [
        ((V2, "西河村", "360123102000"), 5, "都不存在"),  # unknown parent
        ((V1, "东山村副本", TOWN), 5, "代码重复"),  # duplicate code
        (("36012310100A", "坏代码", TOWN), 5, "数字"),
        (("360123101003", "", TOWN), 5, "名称"),
        (("360123201001", "跨镇村", TOWN), 5, "不在上级"),  # code not under its parent
        ((f"{V1}02", "挂错网格", TOWN), 5, "不能放在"),  # a grid under a town
    ],
)
async def test_a_bad_row_is_reported_and_nothing_is_written(
    db: SessionFactory, bad: tuple[str, str, str], row: int, says: str
) -> None:
    sheet = rows(*[(r["代码"], r["名称"], r["上级代码"]) for r in GOOD[:3]], bad)
    async with transaction(db) as session:
        report = await import_regions(session, sheet)
    assert not report.ok
    [(number, _code, reason)] = report.errors
    assert number == row and says in reason, reason
    assert await count(db) == 0


async def test_a_cycle_of_parents_is_an_error_on_each_of_its_rows(db: SessionFactory) -> None:
    sheet = rows(
        (COUNTY, "示范县", ""), (f"{V1}01", "甲网格", f"{V1}02"), (f"{V1}02", "乙网格", f"{V1}01")
    )
    async with transaction(db) as session:
        report = await import_regions(session, sheet)
    assert sorted(r for r, _c, why in report.errors if "成环" in why) == [3, 4]
    assert await count(db) == 0


async def test_a_new_grid_gets_the_next_code_under_its_village(db: SessionFactory) -> None:
    async with transaction(db) as session:
        await import_regions(session, GOOD)
        grid = await create_region(session, RegionIn("东山村第二网格", parent_code=V1))
    assert grid.code == f"{V1}02" and grid.path.endswith(f"/{V1}/{V1}02/")


async def test_a_move_carries_everything_under_the_region(db: SessionFactory) -> None:
    async with transaction(db) as session:
        await import_regions(session, GOOD)
        other = await create_region(session, RegionIn("白石镇", "360123102000", COUNTY))
        village = await by_code(session, V1)
        await move_region(session, village, other.code)
    async with db() as session:
        grid = await by_code(session, f"{V1}01")
    assert grid.path == f"/{COUNTY}/360123102000/{V1}/{V1}01/"


async def test_a_move_to_another_level_is_refused(db: SessionFactory) -> None:
    async with transaction(db) as session:
        await import_regions(session, GOOD)
        grid = await by_code(session, f"{V1}01")
        await move_region(session, grid, V2)  # a grid to another village: fine
        assert grid.path == f"/{COUNTY}/{TOWN}/{V2}/{V1}01/"
        with pytest.raises(InvalidInput, match="同一级别"):
            await move_region(session, await by_code(session, V1), V2)  # a village under a village


async def test_retire_deletes_an_unused_region_and_deactivates_one_with_residents(
    db: SessionFactory,
) -> None:
    async with transaction(db) as session:
        await import_regions(session, GOOD)
        grid = await by_code(session, f"{V1}01")
        session.add(Resident(name="张三", region_id=grid.id or 0))
    async with transaction(db) as session:
        assert await retire_region(session, await by_code(session, V2), "") == "deleted"
    with pytest.raises(InvalidInput, match="停用原因"):
        async with transaction(db) as session:
            await retire_region(session, await by_code(session, f"{V1}01"), " ")
    with pytest.raises(Conflict, match="下级"):
        async with transaction(db) as session:
            await retire_region(session, await by_code(session, V1), "合并")
    async with transaction(db) as session:
        grid = await by_code(session, f"{V1}01")
        assert await retire_region(session, grid, "并入第二网格") == "deactivated"
    async with db() as session:
        grid = await by_code(session, f"{V1}01")
        assert (grid.active, grid.inactive_reason) == (False, "并入第二网格")
        assert await session.scalar(select(func.count()).select_from(Resident)) == 1


async def test_rename_is_bounded(db: SessionFactory) -> None:
    async with transaction(db) as session:
        await import_regions(session, GOOD)
        village = await by_code(session, V1)
        with pytest.raises(InvalidInput):
            await rename_region(session, village, "村" * 65)
        await rename_region(session, village, "  东山  社区 ")
        assert village.name == "东山 社区"
