"""Two-person review: who may take which step, through the API and the console.

The town's users (token = username): publisher, reviewer, leader, grid_worker from the
spine fixture, plus an admin, a second reviewer, a reviewer on duty (值班) and a second
publisher made here. Each refusal must be a 403 with a Chinese sentence and one
``review.refused`` audit row naming the actor.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from pusher.console.passwords import hash_password
from pusher.db import transaction
from pusher.models import AuditLog, Review, Role, User
from pusher.pipeline import review
from pusher.pipeline.review import Actor, Step
from pusher.web.app import create_app
from pusher.web.auth import hash_token
from tests.spine.conftest import Service
from tests.spine.flow import auth

Client = TestClient[object, object]
PASSWORD = "correct-horse-2"
EXTRA = (
    ("admin", Role.ADMIN, False),
    ("reviewer2", Role.REVIEWER, False),
    ("duty", Role.REVIEWER, True),
    ("publisher2", Role.PUBLISHER, False),
)


@pytest.fixture
async def client(service: Service) -> AsyncIterator[Client]:
    async with transaction(service.resources.db) as db:
        for name, role, duty in EXTRA:
            token = hash_token(name)
            db.add(User(username=name, role=role, duty_officer=duty, api_token_hash=token))
        for user in (await db.scalars(select(User))).all():
            user.password_hash = hash_password(PASSWORD)
    c: Client = TestClient(
        TestServer(create_app(service.resources.settings, resources=service.resources))
    )
    await c.start_server()
    yield c
    await c.close()


async def _submitted(client: Client, service: Service, *, by: str, **changes: Any) -> str:
    """An item written and submitted by ``by``; its API path."""
    data = {
        "title": "关于调整农村低保标准的通知",
        "body": "农村低保标准提高到每人每月620元。",
        "publisher": "青山镇人民政府",
        "region_code": service.town.town_code,
    } | changes
    created = await client.post("/api/v1/items", json=data, headers=auth(by))
    assert created.status == 201, await created.text()
    path = f"/api/v1/items/{(await created.json())['id']}"
    assert (await client.post(f"{path}/submit", headers=auth(by))).status == 200
    return path


async def _step(client: Client, path: str, step: str, who: str) -> tuple[int, str]:
    body = {"step": step, "decision": "approve", "opinion": "同意"}
    resp = await client.post(f"{path}/review", json=body, headers=auth(who))
    return resp.status, (await resp.json()).get("error", "")


async def _refusals(service: Service) -> list[tuple[str, str]]:
    async with service.resources.db() as db:
        rows = await db.scalars(
            select(AuditLog).where(AuditLog.action == "review.refused").order_by(AuditLog.id)
        )
        return [(r.actor, r.detail["step"]) for r in rows]


async def _status(client: Client, path: str) -> str:
    return str((await (await client.get(path, headers=auth("admin"))).json())["status"])


async def test_one_reviewer_cannot_take_both_steps(client: Client, service: Service) -> None:
    path = await _submitted(client, service, by="publisher")
    assert (await _step(client, path, "staff", "reviewer"))[0] == 200
    status, error = await _step(client, path, "leader", "reviewer")
    assert status == 403 and "主管领导" in error  # a reviewer is not a leader
    assert await _refusals(service) == [("reviewer", "leader")]
    assert await _status(client, path) == "checked"
    assert (await _step(client, path, "leader", "leader"))[0] == 200


async def test_an_admin_may_take_one_step_but_not_both(client: Client, service: Service) -> None:
    path = await _submitted(client, service, by="publisher")
    assert (await _step(client, path, "staff", "admin"))[0] == 200
    status, error = await _step(client, path, "leader", "admin")
    assert status == 403 and "两个不同的人" in error
    assert await _refusals(service) == [("admin", "leader")]
    assert (await _step(client, path, "leader", "leader"))[0] == 200
    assert await _status(client, path) in ("approved", "pushed")


async def test_nobody_approves_their_own_item(client: Client, service: Service) -> None:
    path = await _submitted(client, service, by="admin")
    status, error = await _step(client, path, "staff", "admin")
    assert status == 403 and "自己" in error
    assert await _refusals(service) == [("admin", "staff")]
    assert await _status(client, path) == "submitted"


async def test_an_urgent_mark_by_a_publisher_is_one_step_only_for_a_leader_or_duty_officer(
    client: Client, service: Service
) -> None:
    first = await _submitted(client, service, by="publisher", urgency="urgent")
    shown = await (await client.get(first, headers=auth("reviewer"))).json()
    assert shown["urgent_marked_by"]["username"] == "publisher"
    assert "发布者标记为紧急" in shown["urgent_marked_by"]["note"]
    status, error = await _step(client, first, "urgent", "reviewer")
    assert status == 403 and "值班" in error
    assert await _refusals(service) == [("reviewer", "urgent")]
    assert (await _step(client, first, "urgent", "duty"))[0] == 200
    second = await _submitted(client, service, by="publisher2", urgency="urgent")
    assert (await _step(client, second, "urgent", "leader"))[0] == 200
    normal = await _submitted(client, service, by="publisher")
    assert (await _step(client, normal, "leader", "leader"))[0] == 409  # no step skipped
    plain = await (await client.get(normal, headers=auth("reviewer"))).json()
    assert plain["urgent_marked_by"] is None


async def _console_login(client: Client, username: str) -> None:
    page = await (await client.get("/login")).text()
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token
    data = {"username": username, "password": PASSWORD, "csrf": token.group(1)}
    resp = await client.post("/login", data=data, allow_redirects=False)
    assert resp.status == 302, await resp.text()


async def test_the_console_review_page_shows_the_mark_and_refuses_the_same_person(
    client: Client, service: Service
) -> None:
    path = await _submitted(client, service, by="publisher", urgency="urgent")
    url = path.replace("/api/v1", "")
    await _console_login(client, "reviewer")
    page = await (await client.get(url)).text()
    assert "发布者标记为紧急" in page and 'value="urgent"' not in page  # not the reviewer's
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token
    form = {"step": "staff", "decision": "approve", "opinion": "不涉密", "csrf": token.group(1)}
    assert (await client.post(f"{url}/review", data=form, allow_redirects=False)).status == 302
    form["step"] = "leader"
    refused = await client.post(f"{url}/review", data=form)
    assert refused.status == 403 and "主管领导" in await refused.text()
    assert await _refusals(service) == [("reviewer", "leader")]
    await _console_login(client, "leader")
    page = await (await client.get(url)).text()
    assert "领导审批意见" in page


def _row(step: str, who: str, decision: str = "approve") -> Review:
    return Review(item_id=1, step=step, decision=decision, reviewer=who)


SUBMITTED = [_row("submit", "pub", "submit")]
CHECKED = [*SUBMITTED, _row("staff", "rev")]


@pytest.mark.parametrize(
    ("actor", "step", "earlier", "refused"),
    [
        (Actor("rev", Role.REVIEWER), Step.STAFF, SUBMITTED, False),
        (Actor("lead", Role.LEADER), Step.STAFF, SUBMITTED, True),  # not the leader's step
        (Actor("pub", Role.PUBLISHER), Step.STAFF, SUBMITTED, True),
        (Actor("pub", Role.ADMIN), Step.STAFF, SUBMITTED, True),  # the submitter is an author
        (Actor("lead", Role.LEADER), Step.LEADER, CHECKED, False),
        (Actor("rev2", Role.REVIEWER), Step.LEADER, CHECKED, True),
        (Actor("rev", Role.ADMIN), Step.LEADER, CHECKED, True),  # checked it already
        (Actor("adm", Role.ADMIN), Step.LEADER, CHECKED, False),
        (Actor("lead", Role.LEADER), Step.URGENT, SUBMITTED, False),
        (Actor("rev", Role.REVIEWER, duty_officer=True), Step.URGENT, SUBMITTED, False),
        (Actor("rev", Role.REVIEWER), Step.URGENT, SUBMITTED, True),
        (Actor("adm", Role.ADMIN), Step.URGENT, SUBMITTED, True),
        (Actor("writer", Role.LEADER), Step.URGENT, SUBMITTED, True),  # the author
        # a new round after a rejection: last round's checker may approve this round's check
        (
            Actor("rev", Role.ADMIN),
            Step.LEADER,
            [*CHECKED, _row("leader", "lead", "reject"), *SUBMITTED, _row("staff", "rev2")],
            False,
        ),
    ],
)
def test_the_rule(actor: Actor, step: Step, earlier: list[Review], refused: bool) -> None:
    why = review.refusal(actor, step, author="writer", earlier=earlier)
    assert (why is not None) is refused, why
