"""转发清单 through the console: a keeper sees only the groups they keep, the urgent
warning on top in red, then newest first, each with its ready text and the group's
short link; 已转发 records who and when, once; 未能转发 needs a reason and lands on the
follow-up list; another keeper's task is refused, a resident's row is not a task, and
a withdrawn notice leaves the list and refuses marks."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from pusher.db import transaction
from pusher.models import AuditLog, Delivery, DeliveryStatus, Item, utcnow
from pusher.pipeline.lifecycle_push import STOP_CODE, withdraw_item
from pusher.summary.relay import base36
from tests.console.test_console import Console, console, db_of
from tests.groups.relay_town import relay_row, relay_town

__all__ = ["console"]


async def _audits(console: Console, action: str) -> int:
    async with db_of(console)() as session:
        found = await session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == action)
        )
    return int(found or 0)


async def test_the_keeper_sees_their_groups_urgent_first_and_marks_once(
    console: Console,
) -> None:
    town = await relay_town(console)
    urgent = await relay_row(console, town.mine, town.urgent)
    first = await relay_row(console, town.mine, town.first)
    second = await relay_row(console, town.mine, town.second)
    theirs = await relay_row(console, town.theirs, town.urgent)
    assert urgent.status == DeliveryStatus.WAITING and urgent.recipient is not None

    await console.login("grid_worker")
    page = await (await console.client.get("/relay")).text()
    assert '<a href="/relay" class="on">转发清单</a>' in page
    cards = re.findall(r'id="relay-(\d+)"', page)
    assert cards == [str(urgent.id), str(second.id), str(first.id)]  # not gw2's group
    assert f'class="card relay urgent s-waiting" id="relay-{urgent.id}"' in page
    assert f"/s/{base36(town.urgent)}?g={base36(town.mine)}" in page  # the group's link
    assert "**" not in page and "[查看全文]" not in page  # plain text for a WeChat group

    resp = await console.post(f"/relay/{urgent.id}/done", {}, allow_redirects=False)
    assert resp.status == 302  # type: ignore[attr-defined]
    done = await relay_row(console, town.mine, town.urgent)
    assert (done.status, done.provider, done.provider_id) == ("sent", "relay", "grid_worker")
    assert done.sent_at is not None
    again = await console.post(f"/relay/{urgent.id}/done", {})
    assert "已经登记过" in await again.text()  # type: ignore[attr-defined]
    assert (await relay_row(console, town.mine, town.urgent)).sent_at == done.sent_at
    assert await _audits(console, "relay.done") == 1

    resp = await console.post(f"/relay/{theirs.id}/done", {})
    assert resp.status == 403  # type: ignore[attr-defined]
    assert (await relay_row(console, town.theirs, town.urgent)).status == "waiting"
    async with db_of(console)() as session:
        resident_row = await session.scalar(
            select(func.min(Delivery.id)).where(Delivery.resident_id.is_not(None))
        )
    resp = await console.post(f"/relay/{resident_row}/done", {})
    assert resp.status == 404  # type: ignore[attr-defined]  # a resident's row is no task
    assert (await console.client.get("/relay")).status == 200


async def test_refusing_needs_a_reason_and_lands_on_the_follow_up_list(
    console: Console,
) -> None:
    town = await relay_town(console)
    first = await relay_row(console, town.mine, town.first)
    second = await relay_row(console, town.mine, town.second)
    await console.login("grid_worker")
    resp = await console.post(f"/relay/{first.id}/refuse", {"reason": "other", "note": ""})
    assert resp.status == 422 and "写明原因" in await resp.text()  # type: ignore[attr-defined]
    resp = await console.post(f"/relay/{first.id}/refuse", {"reason": "dissolved", "note": ""})
    assert resp.status == 200  # type: ignore[attr-defined]
    refused = await relay_row(console, town.mine, town.first)
    assert (refused.status, refused.error_code) == ("failed", "relay_refused")
    assert refused.error_message == "群已解散"
    assert await _audits(console, "relay.refused") == 1
    for who in ("grid_worker", "reviewer"):  # the keeper, and the office
        await console.login(who)
        page = await (await console.client.get("/followup")).text()
        assert f'data-delivery="{refused.id}"' in page and "群已解散" in page, who

    async with transaction(db_of(console)) as session:
        item = await session.get_one(Item, town.second)
        await withdraw_item(session, item, actor="leader", reason="内容有误", now=utcnow())
    await console.login("grid_worker")
    page = await (await console.client.get("/relay")).text()
    assert f'id="relay-{second.id}"' not in page
    resp = await console.post(f"/relay/{second.id}/done", {})
    assert resp.status == 409 and "已撤回" in await resp.text()  # type: ignore[attr-defined]
    withdrawn = await relay_row(console, town.mine, town.second)  # not left 待转发
    assert (withdrawn.status, withdrawn.error_code) == ("cancelled", STOP_CODE)
