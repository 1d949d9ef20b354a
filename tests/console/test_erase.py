"""Erasure on a resident's request, from the console, the API and the CLI.

Only the office (admin) erases; a grid worker is refused (403, audited) even for a
resident of their own grid. An erasure removes name, phone, openid, tags and
subscriptions, the sandbox copies of the resident's messages (also those sent to a
number since corrected) and receipts parked for them, drops the name from earlier
audit rows, and writes one audit row with the reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlmodel import col

from pusher.audit import record
from pusher.cli.main import main
from pusher.db import SessionFactory, transaction
from pusher.models import (
    AuditLog,
    Delivery,
    PendingReceipt,
    Resident,
    ResidentTag,
    SandboxMessage,
    Subscription,
)
from pusher.pipeline.lifecycle import FORGOTTEN_NAME
from pusher.runtime.resources import open_resources
from pusher.settings import Settings
from pusher.web.keys import RESOURCES
from tests.console.world import World, client_for, copy_of, csrf, login, multipart, template

Client = TestClient[object, object]
REASON = "本人于12月6日来电申请删除"


@pytest.fixture(scope="session")
def erase_template(tmp_path_factory: pytest.TempPathFactory, jieba_cache: Path) -> World:
    return template(tmp_path_factory.mktemp("erase"), jieba_cache)


@pytest.fixture
def world(erase_template: World, tmp_path: Path) -> World:
    return copy_of(erase_template, tmp_path / "pusher.db")


@pytest.fixture
async def client(world: World) -> AsyncIterator[Client]:
    async for c in client_for(world):
        yield c


async def _prepare(db: SessionFactory, rid: int) -> dict[str, Any]:
    """Give the resident what erasure must reach; returns what to look for afterwards."""
    async with transaction(db) as s:
        resident = await s.get_one(Resident, rid)
        sent = list(
            await s.scalars(
                select(Delivery.provider_id).where(
                    Delivery.resident_id == rid, col(Delivery.provider_id).is_not(None)
                )
            )
        )
        s.add(ResidentTag(resident_id=rid, tag="老年人"))
        record(s, actor="grid_worker", action="resident.save", target=f"resident:{rid}",
               detail={"name": resident.name})  # fmt: skip
        s.add(PendingReceipt(provider="sandbox", provider_id=sent[0], delivered=True))
        old = {"name": resident.name, "phone": resident.phone, "sent": sent}
        # corrected since: the old copies went to addresses the record no longer holds
        resident.phone, resident.openid = "13700000001", f"o-corrected-{rid}"
    return old


async def _erased(db: SessionFactory, rid: int, old: dict[str, Any]) -> dict[str, Any]:
    async def count(model: Any, *where: Any) -> int:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    async with db() as s:
        r = await s.get_one(Resident, rid)
        audit = list(await s.scalars(select(AuditLog).where(AuditLog.target == f"resident:{rid}")))
        sent = old["sent"]
        forget = [a for a in audit if a.action == "resident.forget"]
        return {
            "person": (r.name, r.phone, r.openid),
            "tags": await count(ResidentTag, ResidentTag.resident_id == rid),
            "subscriptions": await count(Subscription, Subscription.resident_id == rid),
            "sandbox": await count(SandboxMessage, col(SandboxMessage.provider_id).in_(sent)),
            "parked": await count(PendingReceipt, col(PendingReceipt.provider_id).in_(sent)),
            "forget": [(a.actor, a.detail.get("reason"), a.detail.get("via")) for a in forget],
            "named": [a for a in audit if old["name"] in str(a.detail)],
        }


def _gone(after: dict[str, Any], actor: str, via: str) -> None:
    assert after["person"] == (FORGOTTEN_NAME, None, None)
    assert (after["tags"], after["subscriptions"], after["sandbox"], after["parked"]) == (0,) * 4
    assert after["forget"] == [(actor, REASON, via)]
    assert after["named"] == []


async def _before(db: SessionFactory, rid: int) -> dict[str, Any]:
    old = await _prepare(db, rid)
    before = await _erased(db, rid, old)
    # the setup really holds what erasure must remove, else the checks below prove nothing
    assert before["tags"] and before["subscriptions"] and before["sandbox"] and before["parked"]
    assert before["named"] and before["forget"] == []
    return old


async def _form(client: Client, fields: dict[str, str]) -> Any:
    return multipart(fields, await csrf(client))


async def test_admin_erases_from_the_console_after_confirming(
    world: World, client: Client
) -> None:
    db = client.server.app[RESOURCES].db
    rid = world.own_resident
    old = await _before(db, rid)
    await login(client, "admin")
    page = await client.get(f"/residents/{rid}")
    assert f"/residents/{rid}/erase" in await page.text()
    confirm = await client.get(f"/residents/{rid}/erase")
    assert confirm.status == 200 and old["name"] in await confirm.text()
    path = f"/residents/{rid}/erase"
    unticked = await client.post(path, data=await _form(client, {"reason": REASON}))
    assert unticked.status == 422 and "已核实" in await unticked.text()
    no_reason = await client.post(path, data=await _form(client, {"confirm": "on"}))
    assert no_reason.status == 422 and "原因" in await no_reason.text()
    assert (await _erased(db, rid, old))["person"][0] == old["name"]  # nothing happened yet
    done = await client.post(
        path, data=await _form(client, {"reason": REASON, "confirm": "on"}), allow_redirects=False
    )
    assert done.status == 302
    _gone(await _erased(db, rid, old), "admin", "console")


async def test_a_grid_worker_may_not_erase_even_in_their_own_grid(
    world: World, client: Client
) -> None:
    db = client.server.app[RESOURCES].db
    rid = world.own_resident
    old = await _before(db, rid)
    await login(client, "grid_worker")
    page = await client.get(f"/residents/{rid}")
    assert page.status == 200 and f"/residents/{rid}/erase" not in await page.text()
    assert "政务公开办" in await page.text()  # told where to pass the request on
    assert (await client.get(f"/residents/{rid}/erase")).status == 403
    form = await _form(client, {"reason": REASON, "confirm": "on"})
    assert (await client.post(f"/residents/{rid}/erase", data=form)).status == 403
    api = await client.post(
        f"/api/v1/residents/{rid}/erase",
        json={"reason": REASON},
        headers={"Authorization": "Bearer grid_worker"},
    )
    assert api.status == 403
    after = await _erased(db, rid, old)
    assert after["person"][0] == old["name"] and after["forget"] == []
    async with db() as s:
        denied = await s.scalar(
            select(func.count()).where(AuditLog.action == "access.denied")
        )
    assert denied == 3


async def test_admin_erases_through_the_api(world: World, client: Client) -> None:
    db = client.server.app[RESOURCES].db
    rid = world.own_resident
    old = await _before(db, rid)
    admin = {"Authorization": "Bearer admin"}
    url = f"/api/v1/residents/{rid}/erase"
    missing = await client.post(url, json={}, headers=admin)
    assert missing.status == 422 and "原因" in (await missing.json())["error"]
    assert (await client.post(url, data=b"{not json", headers=admin)).status == 400
    unknown = await client.post("/api/v1/residents/999999/erase", json={"reason": REASON},
                                headers=admin)  # fmt: skip
    assert unknown.status == 404
    resp = await client.post(url, json={"reason": REASON}, headers=admin)
    assert resp.status == 200 and (await resp.json())["erased"] is True
    _gone(await _erased(db, rid, old), "admin", "api")
    spec = await (await client.get("/api/v1/openapi.json")).json()
    assert "post" in spec["paths"]["/api/v1/residents/{resident_id}/erase"]


def test_the_cli_erases(
    erase_template: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = copy_of(erase_template, tmp_path / "pusher.db")
    settings: Settings = world.settings
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    monkeypatch.setenv("PUSHER_DATABASE_URL", settings.database_url.get_secret_value())
    rid = world.own_resident

    async def prepare() -> dict[str, Any]:
        async with open_resources(settings) as r:
            return await _before(r.db, rid)

    async def check(old: dict[str, Any]) -> dict[str, Any]:
        async with open_resources(settings) as r:
            return await _erased(r.db, rid, old)

    old = asyncio.run(prepare())
    assert main(["resident", "forget", str(rid), "--reason", " "]) == 1  # a reason is needed
    assert main(["resident", "forget", "999999", "--reason", REASON]) == 1
    assert main(["resident", "forget", str(rid), "--reason", REASON]) == 0
    _gone(asyncio.run(check(old)), "cli", "cli")
