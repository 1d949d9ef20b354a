"""``/api/v1/residents``: list with filters, get, create, update, deactivate, and the bulk
upsert answering the import's report; scoped to the grid worker's grids."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from pusher.models import AuditLog, Region, Resident
from tests.console.test_console import Console, console, db_of

__all__ = ["console"]

GW = {"Authorization": "Bearer grid_worker"}


async def call(
    c: Console, method: str, path: str, body: Any = None, who: str = "grid_worker"
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {who}"}
    resp = await c.client.request(method, path, json=body, headers=headers)
    return resp.status, await resp.json()


async def grids(c: Console) -> tuple[Region, Region]:
    async with db_of(c)() as db:
        mine = await db.get_one(Region, c.grid_ids[0])
        theirs = await db.get_one(Region, c.grid_ids[1])
    return mine, theirs


async def test_create_get_update_list_and_deactivate(console: Console) -> None:
    mine, _ = await grids(console)
    body = {"name": "冯一", "grid": mine.code, "phone": "13933330001", "key": "0101",
            "tags": ["老年人"], "sms_consent": True}  # fmt: skip
    status, made = await call(console, "POST", "/api/v1/residents", body)
    assert status == 201 and made["grid"] == mine.code and made["key"] == "0101", made
    rid = made["id"]
    status, got = await call(console, "GET", f"/api/v1/residents/{rid}")
    assert status == 200 and got["tags"] == ["老年人"] and got["sms_consent"] is True
    status, changed = await call(
        console, "PUT", f"/api/v1/residents/{rid}", body | {"phone": "13933330002"}
    )
    assert status == 200 and changed["phone"] == "13933330002"
    status, listed = await call(
        console, "GET", f"/api/v1/residents?grid={mine.code}&tag=老年人&q=冯"
    )
    assert status == 200 and [r["id"] for r in listed["residents"]] == [rid]
    status, gone = await call(
        console, "POST", f"/api/v1/residents/{rid}/deactivate", {"reason": "迁往县城"}
    )
    assert status == 200 and gone["active"] is False
    _, listed = await call(console, "GET", "/api/v1/residents?q=冯一")
    assert listed["total"] == 0
    _, listed = await call(console, "GET", "/api/v1/residents?q=冯一&active=false")
    assert [r["id"] for r in listed["residents"]] == [rid]


async def test_scope_and_bad_input(console: Console) -> None:
    mine, theirs = await grids(console)
    status, answer = await call(
        console,
        "POST",
        "/api/v1/residents",
        {"name": "蒋一", "grid": theirs.code, "phone": "13933330009"},
    )
    assert status == 422 and "不是你负责的网格" in answer["error"]
    async with db_of(console)() as db:
        other = await db.scalar(select(Resident.id).where(Resident.region_id == theirs.id))
    status, _ = await call(console, "GET", f"/api/v1/residents/{other}")
    assert status == 403
    status, _ = await call(
        console, "PUT", f"/api/v1/residents/{other}", {"name": "x", "grid": mine.code}
    )
    assert status == 403
    async with db_of(console)() as db:
        denied = await db.scalar(select(AuditLog.target).where(AuditLog.action == "access.denied"))
    assert denied == f"resident:{other}"
    _, listed = await call(console, "GET", "/api/v1/residents?limit=500")
    assert listed["residents"] and {r["grid"] for r in listed["residents"]} == {mine.code}
    status, _ = await call(console, "GET", "/api/v1/residents", who="publisher")
    assert status == 403
    status, answer = await call(
        console, "POST", "/api/v1/residents", {"name": "蒋二", "grid": mine.code, "phone": "12345"}
    )
    assert status == 422 and "不是有效的大陆手机号" in answer["error"]
    status, _ = await call(
        console, "POST", "/api/v1/residents", {"name": "蒋三", "grid": mine.code, "age": 3}
    )
    assert status == 422
    status, _ = await call(console, "GET", "/api/v1/residents?active=maybe")
    assert status == 422


async def test_bulk_upsert_answers_the_import_report(console: Console) -> None:
    mine, _ = await grids(console)
    rows = [
        {
            "姓名": "沈一",
            "手机号码": "13944440001",
            "网格名称": mine.name,
            "身份证后四位": "0001",
            "备注": "x",
        },
        {"姓名": "沈二", "手机号码": "13944440001", "网格名称": mine.name, "身份证后四位": "0002"},
        {"姓名": "沈三", "手机号码": "139", "网格名称": mine.name},
    ]
    status, dry = await call(console, "POST", "/api/v1/residents/bulk?dry_run=true", {"rows": rows})
    assert status == 200 and dry["counts"] == {"add": 2, "change": 0, "unchanged": 0, "error": 1}
    assert dry["applied"] == 0 and dry["unknown_columns"] == ["备注"]
    assert dry["rows"][2]["errors"] and dry["moved_out_candidates"]
    async with db_of(console)() as db:
        assert not (await db.scalars(select(Resident).where(Resident.name == "沈一"))).all()
    status, done = await call(console, "POST", "/api/v1/residents/bulk", {"rows": rows[:2]})
    assert status == 200 and done["applied"] == 2
    rows[1]["手机号码"] = "13944440002"
    status, again = await call(console, "POST", "/api/v1/residents/bulk", {"rows": rows[:2]})
    assert again["counts"] == {"add": 0, "change": 1, "unchanged": 1, "error": 0}
    assert again["rows"][1]["changes"] == ["手机号"]
    status, bad = await call(console, "POST", "/api/v1/residents/bulk", {"rows": [{"名字": "x"}]})
    assert status == 422 and bad["error"].startswith("缺少列：姓名")
    status, empty = await call(console, "POST", "/api/v1/residents/bulk", {"rows": []})
    assert status == 200 and empty["total"] == 0
    status, _ = await call(console, "PUT", "/api/v1/residents/bulk", {"rows": []})
    assert status == 405
