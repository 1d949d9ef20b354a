"""A grid worker cannot type a spreadsheet formula into a resident's name or tags."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pusher.models import Resident
from tests.console.test_console import Console, console, db_of  # noqa: F401 (fixture)


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("name", '=HYPERLINK("http://x.example","点我")', "姓名不能以"),
        ("name", "@SUM(1+1)", "姓名不能以"),
        ("tags", "老年人、=1+1", "标签不能以"),
    ],
)
async def test_formula_like_names_and_tags_are_refused(
    console: Console,  # noqa: F811
    field: str,
    value: str,
    words: str,
) -> None:
    await console.login("grid_worker")
    person = {"name": "周大爷", "phone": "13698765432", "region_id": str(console.grid_ids[0])}
    async with db_of(console)() as db:
        before = await db.scalar(select(func.count(Resident.id)))
    resp = await console.post("/residents/new", person | {field: value})
    assert resp.status == 422 and words in await resp.text()  # type: ignore[attr-defined]
    async with db_of(console)() as db:
        assert await db.scalar(select(func.count(Resident.id))) == before
