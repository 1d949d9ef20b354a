"""The town API as a county's IT would call it: regions imported with a row report (all
or nothing), group chats answered with the key masked and kept by grid workers within
their regions only, list members, a rename through the API."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from pusher.db import transaction
from pusher.models import Region, User
from pusher.town.regions import by_code
from tests.spine.conftest import Service

Client = TestClient[object, object]
VILLAGE = "360123101001"  # the demo town's 东山村
GRID = "36012310100101"


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {role}"}


async def call(
    client: Client, method: str, path: str, role: str, body: Any = None
) -> tuple[int, Any]:
    resp = await client.request(method, path, json=body, headers=auth(role))
    return resp.status, await resp.json()


async def regions(service: Service) -> int:
    async with service.resources.db() as db:
        return int(await db.scalar(select(func.count()).select_from(Region)) or 0)


async def test_a_bad_import_names_each_row_and_writes_nothing(
    service: Service, client: Client
) -> None:
    before = await regions(service)
    rows = [
        {"code": "360123101006", "name": "新村", "parent_code": "360123101"},
        {"code": "360123101006", "name": "又一个新村", "parent_code": "360123101"},
        {"code": "36012310100701", "name": "孤网格", "parent_code": "360123101007"},
    ]
    status, body = await call(client, "POST", "/api/v1/regions/import", "admin", {"rows": rows})
    assert status == 422 and not body["ok"] and "未导入" in body["error"]
    assert [(e["row"], e["code"]) for e in body["errors"]] == [
        (3, rows[1]["code"]),
        (4, rows[2]["code"]),
    ]
    assert await regions(service) == before
    status, body = await call(client, "POST", "/api/v1/regions/import", "admin", {"rows": rows[:1]})
    assert status == 200 and body["created"] == 1
    assert await regions(service) == before + 1


async def test_a_rename_through_the_api_is_audited(service: Service, client: Client) -> None:
    async with service.resources.db() as db:
        village = await by_code(db, VILLAGE)
    status, body = await call(
        client, "PUT", f"/api/v1/regions/{village.id}", "admin", {"name": "东山社区"}
    )
    assert status == 200 and body["name"] == "东山社区"
    status, _ = await call(client, "PUT", f"/api/v1/regions/{village.id}", "admin", {"name": ""})
    assert status == 422


async def _grid_worker_in(service: Service, code: str) -> None:
    from pusher.models import UserRegion

    async with transaction(service.resources.db) as db:
        user = await db.scalar(select(User).where(User.username == "grid_worker"))
        region = await by_code(db, code)
        assert user is not None
        db.add(UserRegion(user_id=user.id or 0, region_id=region.id or 0))


async def test_grid_workers_keep_the_chats_of_their_own_regions(
    service: Service, client: Client
) -> None:
    await _grid_worker_in(service, GRID)
    key = str(uuid.uuid4())
    mine = {"name": "第一网格群", "region_code": GRID, "robot_key": key}
    status, chat = await call(client, "POST", "/api/v1/group-chats", "grid_worker", mine)
    assert status == 201 and key not in str(chat) and chat["robot_key"].startswith(key[:4])
    status, listed = await call(client, "GET", "/api/v1/group-chats", "grid_worker")
    assert [c["id"] for c in listed["group_chats"]] == [chat["id"]]  # not the village chats
    outside = mine | {"region_code": VILLAGE, "robot_key": str(uuid.uuid4())}
    status, body = await call(client, "POST", "/api/v1/group-chats", "grid_worker", outside)
    assert status == 403 and "无权" in body["error"]
    status, everyone = await call(client, "GET", "/api/v1/group-chats", "publisher")
    village_chat = next(c for c in everyone["group_chats"] if c["id"] != chat["id"])
    status, _ = await call(
        client, "POST", f"/api/v1/group-chats/{village_chat['id']}/deactivate", "grid_worker"
    )
    assert status == 403


async def test_list_members_and_their_preview(service: Service, client: Client) -> None:
    status, group = await call(
        client, "POST", "/api/v1/groups", "publisher", {"name": "走访名单", "kind": "list"}
    )
    assert status == 201
    async with service.resources.db() as db:
        from pusher.models import Resident

        ids = list((await db.scalars(select(Resident.id).order_by(Resident.id).limit(3))).all())
    path = f"/api/v1/groups/{group['id']}"
    status, body = await call(client, "PUT", f"{path}/members", "publisher", {"resident_ids": ids})
    assert (status, body["members"]) == (200, 3)
    status, seen = await call(client, "GET", f"{path}/preview", "leader")
    assert seen["total"] == 3 and sum(v["total"] for v in seen["by_village"]) == 3
    status, body = await call(
        client, "PUT", f"{path}/members", "publisher", {"resident_ids": [2**40]}
    )
    assert status == 422


async def test_bad_rules_and_unknown_kinds_are_422_with_chinese(client: Client) -> None:
    bad = {"name": "坏规则", "kind": "tag", "tag": "老年人", "rules": ["养老 |"]}
    status, body = await call(client, "POST", "/api/v1/groups", "publisher", bad)
    assert status == 422 and "规则有误" in body["error"]
    status, body = await call(client, "GET", "/api/v1/regions?kind=planet", "publisher")
    assert status == 422
