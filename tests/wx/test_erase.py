"""Erasing a resident also erases the WeChat side: bindings, codes, messages, and the
follower record unless that openid still receives for someone else."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from pusher.db import transaction
from pusher.models import (
    Region,
    Resident,
    ResidentMessage,
    VerifyCode,
    WxBinding,
    WxFollower,
    utcnow,
)
from pusher.pipeline.lifecycle import forget_resident
from pusher.runtime.resources import open_resources
from pusher.settings import Settings
from tests.spine.conftest import start

CHILD = "oChildErase00000000001"


async def _family(settings: Settings) -> tuple[int, int]:
    async with open_resources(settings) as r, transaction(r.db) as db:
        grid = await db.scalar(select(Region).where(Region.kind == "grid"))
        assert grid is not None and grid.id is not None
        parent = Resident(name="李奶奶", region_id=grid.id, phone="13700000002", openid=CHILD)
        child = Resident(name="李明", region_id=grid.id, phone="13700000003", openid=CHILD)
        db.add_all([parent, child, WxFollower(openid=CHILD, region_id=grid.id)])
        await db.flush()
        assert parent.id and child.id
        for person, proxy in ((parent, True), (child, False)):
            db.add(
                WxBinding(
                    openid=CHILD,
                    resident_id=person.id,
                    region_id=grid.id,
                    name=person.name,
                    phone=person.phone or "",
                    proxy=proxy,
                    status="bound",
                )
            )
            db.add(
                VerifyCode(
                    phone=person.phone or "",
                    openid=CHILD,
                    digest="x",
                    name=person.name,
                    expires_at=utcnow() + timedelta(minutes=5),
                )
            )
        db.add(
            ResidentMessage(
                resident_id=child.id,
                region_id=grid.id,
                channel="wechat",
                sender=CHILD,
                text="路灯坏了",
            )
        )
        db.add(ResidentMessage(region_id=grid.id, channel="sms", sender="13700000002", text="收到"))
        return parent.id, child.id


async def _count(settings: Settings, model: type, *where: object) -> int:
    async with open_resources(settings) as r, r.db() as db:
        query = select(func.count()).select_from(model).where(*where)  # type: ignore[arg-type]
        return int(await db.scalar(query) or 0)


async def test_forget_erases_bindings_codes_messages_and_a_lone_follower(
    sqlite_settings: Settings,
) -> None:
    await start(sqlite_settings, residents=10)
    parent, child = await _family(sqlite_settings)
    async with open_resources(sqlite_settings) as r:
        counts = await forget_resident(r.db, parent, actor="admin", reason="本人申请")
    assert (counts["wx_binding"], counts["verify_code"], counts["resident_message"]) == (1, 1, 1)
    assert counts["wx_follower"] == 0  # the child still follows and is bound
    assert await _count(sqlite_settings, WxBinding) == 1
    assert (
        await _count(sqlite_settings, ResidentMessage, ResidentMessage.sender == "13700000002") == 0
    )
    async with open_resources(sqlite_settings) as r:
        counts = await forget_resident(r.db, child, actor="admin", reason="本人申请")
    assert counts["wx_follower"] == 1 and counts["resident_message"] == 1
    for model in (WxBinding, VerifyCode, ResidentMessage, WxFollower):
        assert await _count(sqlite_settings, model) == 0, model
