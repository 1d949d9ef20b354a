"""Personal data through the JSON API: masked addresses, audited reads, pushes in scope."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from pusher.db import transaction
from pusher.models import AuditLog, Delivery, Region, RegionKind, Resident, Role, User, UserRegion
from pusher.web.auth import hash_token
from pusher.web.keys import RESOURCES
from tests.console.world import World, client_for, copy_of, template

Client = TestClient[object, object]
WHOLE_PHONE = re.compile(r"1[3-9]\d{9}")


@pytest.fixture(scope="module")
def world_template(tmp_path_factory: pytest.TempPathFactory, jieba_cache: Path) -> World:
    return template(tmp_path_factory.mktemp("privacy"), jieba_cache)


@pytest.fixture
async def world(world_template: World, tmp_path: Path) -> AsyncIterator[tuple[World, Client]]:
    mine = copy_of(world_template, tmp_path / "pusher.db")
    async for client in client_for(mine):
        yield mine, client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _addresses(client: Client) -> tuple[set[str], set[str]]:
    """Every phone number and openid on record (the setup's, not the API's)."""
    async with client.server.app[RESOURCES].db() as db:
        rows = (await db.execute(select(Resident.phone, Resident.openid))).all()
    return {p for p, _ in rows if p}, {o for _, o in rows if o}


async def _audit(client: Client, action: str) -> list[AuditLog]:
    async with client.server.app[RESOURCES].db() as db:
        found = await db.scalars(select(AuditLog).where(AuditLog.action == action))
        return list(found.all())


async def _list(client: Client, token: str, query: str = "") -> Any:
    resp = await client.get(f"/api/v1/deliveries?limit=1000{query}", headers=bearer(token))
    assert resp.status == 200, await resp.text()
    return await resp.json()


@pytest.mark.parametrize("role", ["publisher", "reviewer", "admin", "grid_worker"])
async def test_delivery_lists_mask_addresses_and_are_audited(
    world: tuple[World, Client], role: str
) -> None:
    _, client = world
    phones, openids = await _addresses(client)
    body = await _list(client, role, "&channel=sms")
    body_wx = await _list(client, role, "&channel=wechat")
    shown = [d["recipient"] for d in body["deliveries"] + body_wx["deliveries"]]
    assert body["deliveries"] and body_wx["deliveries"]  # the town has both channels
    assert not set(shown) & (phones | openids)
    assert all(re.fullmatch(r"1\d\d\*{4}\d{4}", d["recipient"]) for d in body["deliveries"])
    reads = await _audit(client, "deliveries.read")
    assert [(r.actor, r.detail["filter"]["channel"], r.detail["count"]) for r in reads] == [
        (role, "sms", len(body["deliveries"])),
        (role, "wechat", len(body_wx["deliveries"])),
    ]


@pytest.mark.parametrize("role", ["admin", "grid_worker"])
async def test_full_addresses_for_roles_that_may_see_them(
    world: tuple[World, Client], role: str
) -> None:
    _, client = world
    phones, openids = await _addresses(client)
    body = await _list(client, role, "&full=1")
    shown = {d["recipient"] for d in body["deliveries"] if d["recipient"] and d["resident_id"]}
    assert shown and shown <= phones | openids
    (read,) = await _audit(client, "deliveries.read")
    assert read.actor == role and read.detail["full"] is True


@pytest.mark.parametrize("role", ["publisher", "reviewer"])
async def test_full_addresses_refused_to_office_staff(
    world: tuple[World, Client], role: str
) -> None:
    _, client = world
    resp = await client.get("/api/v1/deliveries?full=1", headers=bearer(role))
    assert resp.status == 403 and "openid" in (await resp.json())["error"]
    assert not WHOLE_PHONE.search(await resp.text())
    denied = await _audit(client, "access.denied")
    assert [(r.actor, r.target) for r in denied] == [(role, "deliveries:full")]


async def _far_grid_worker(client: Client, world: World) -> None:
    """A grid worker of a new village with no residents: none of the push is theirs."""
    async with transaction(client.server.app[RESOURCES].db) as db:
        town = await db.scalar(select(Region).where(Region.code == world.town_code))
        assert town is not None
        far = Region(
            code=f"{world.town_code}999",
            name="远山村",
            kind=RegionKind.VILLAGE,
            parent_id=town.id,
            path=f"{town.path}{world.town_code}999/",
        )
        user = User(username="gw_far", role=Role.GRID_WORKER, api_token_hash=hash_token("gw_far"))
        lonely = User(
            username="gw_none", role=Role.GRID_WORKER, api_token_hash=hash_token("gw_none")
        )
        db.add_all([far, user, lonely])
        await db.flush()
        db.add(UserRegion(user_id=user.id, region_id=far.id))


async def test_a_push_outside_a_grid_workers_regions_is_not_found(
    world: tuple[World, Client],
) -> None:
    w, client = world
    await _far_grid_worker(client, w)
    for token in ("gw_far", "gw_none"):
        resp = await client.get(f"/api/v1/pushes/{w.push}", headers=bearer(token))
        body = await resp.json()
        assert resp.status == 404 and "不存在" in body["error"], body
        assert "counts" not in body and "title" not in str(body)
        listed = await (await client.get("/api/v1/pushes", headers=bearer(token))).json()
        assert listed["pushes"] == []
    unknown = await client.get(f"/api/v1/pushes/{w.push + 999}", headers=bearer("gw_far"))
    assert unknown.status == 404
    mine = await client.get(f"/api/v1/pushes/{w.push}", headers=bearer("grid_worker"))
    assert mine.status == 200
    async with client.server.app[RESOURCES].db() as db:
        assert await db.scalar(select(Delivery.id).where(Delivery.push_id == w.push))
