"""The reviewer confirms the domain before approval, through the API (issue 24).

The town's topic groups are 订阅：<domain> for the domains in ``TOPICS_FOLLOWED``; an
item is in a topic group exactly when its domain is that group's domain, so the groups
matched after approval show which domain matching used.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from pusher.models import AuditLog, Group, ItemMatch
from tests.spine.conftest import Service
from tests.spine.flow import auth, item

Client = Any
ELDERLY = {
    "title": "关于发放2026年高龄津贴的通知",
    "body": "凡年满80周岁的老年人，请于本月底前到村委会领取高龄津贴。",
}


async def _submitted(client: Client, service: Service, **changes: object) -> str:
    created = await client.post("/api/v1/items", json=item(service, **changes), headers=auth())
    assert created.status == 201, await created.text()
    path = f"/api/v1/items/{(await created.json())['id']}"
    assert (await client.post(f"{path}/submit", headers=auth())).status == 200
    return path


async def _step(client: Client, path: str, step: str, who: str, **extra: object) -> Any:
    body = {"step": step, "decision": "approve", "opinion": "同意"} | extra
    return await client.post(f"{path}/review", json=body, headers=auth(who))


async def _topic_groups(service: Service, path: str) -> dict[str, list[dict[str, Any]]]:
    """The topic groups the item was matched to (name → reasons), after its push ran."""
    await service.resources.queue.join()  # type: ignore[attr-defined]
    item_id = int(path.rsplit("/", 1)[1])
    async with service.resources.db() as db:
        rows = await db.execute(
            select(Group.name, ItemMatch.reasons)
            .join(Group, Group.id == ItemMatch.group_id)
            .where(ItemMatch.item_id == item_id, Group.kind == "topic")
        )
        return {name: reasons for name, reasons in rows}


async def _domain_audits(service: Service) -> list[tuple[str, dict[str, Any]]]:
    async with service.resources.db() as db:
        rows = await db.scalars(
            select(AuditLog).where(AuditLog.action == "item.domain").order_by(AuditLog.id)
        )
        return [(r.actor, dict(r.detail)) for r in rows]


async def test_the_suggestion_is_shown_with_its_reasons(client: Client, service: Service) -> None:
    path = await _submitted(client, service, **ELDERLY)
    shown = (await (await client.get(path, headers=auth("reviewer"))).json())["domain_review"]
    assert shown["declared"] is None and shown["suggested_source"] == "classified"
    assert shown["suggested"][0] == "养老服务" and shown["reviewed_by"] is None
    words = {k["matched_text"] for c in shown["classified"] for k in c["keywords"]}
    assert "高龄津贴" in words and shown["open"] is True


async def test_a_declared_domain_is_shown_as_declared(client: Client, service: Service) -> None:
    path = await _submitted(client, service, **ELDERLY, domain="社会救助")
    shown = (await (await client.get(path, headers=auth("reviewer"))).json())["domain_review"]
    assert shown["declared"] == "社会救助" and shown["suggested_source"] == "declared"
    assert shown["suggested"] == ["社会救助"] and shown["classified"] == []


async def test_the_changed_domain_is_what_matching_uses(client: Client, service: Service) -> None:
    path = await _submitted(client, service, **ELDERLY)
    assert (await _step(client, path, "staff", "reviewer", domain="社会救助")).status == 200
    assert (await _step(client, path, "leader", "leader")).status == 200  # keeps the choice
    groups = await _topic_groups(service, path)
    assert set(groups) == {"订阅：社会救助"}  # not 订阅：养老服务, the classifier's
    assert groups["订阅：社会救助"][0]["source"] == "reviewed"
    assert groups["订阅：社会救助"][0]["reviewed_by"] == "reviewer"
    [(actor, detail)] = await _domain_audits(service)
    assert actor == "reviewer" and detail["chosen"] == "社会救助"
    assert detail["how"] == "changed" and detail["suggested"][0] == "养老服务"


async def test_no_domain_reaches_no_topic_group(client: Client, service: Service) -> None:
    path = await _submitted(client, service, **ELDERLY, domain="养老服务")
    assert (await _step(client, path, "staff", "reviewer", domain=None)).status == 200
    shown = (await (await client.get(path, headers=auth("leader"))).json())["domain_review"]
    assert shown["reviewed_by"] == "reviewer" and shown["domains"] == []
    assert (await _step(client, path, "leader", "leader")).status == 200
    assert await _topic_groups(service, path) == {}  # even the declared 养老服务 is overruled
    assert [d["how"] for _, d in await _domain_audits(service)] == ["none"]


async def test_accepting_the_suggestion_is_audited_once(client: Client, service: Service) -> None:
    path = await _submitted(client, service, **ELDERLY)
    assert (await _step(client, path, "staff", "reviewer", domain="养老服务")).status == 200
    assert (await _step(client, path, "leader", "leader", domain="养老服务")).status == 200
    assert set(await _topic_groups(service, path)) == {"订阅：养老服务"}
    assert [(a, d["how"]) for a, d in await _domain_audits(service)] == [("reviewer", "accepted")]


async def test_an_unknown_domain_is_refused_and_nothing_written(
    client: Client, service: Service
) -> None:
    path = await _submitted(client, service, **ELDERLY)
    resp = await _step(client, path, "staff", "reviewer", domain="不存在的领域")
    assert resp.status == 422
    assert "请从列表中选择" in (await resp.json())["error"]
    shown = await (await client.get(path, headers=auth("reviewer"))).json()
    assert shown["status"] == "submitted" and shown["domain_review"]["reviewed_by"] is None
    too_long = await _step(client, path, "staff", "reviewer", domain="领" * 65)
    assert too_long.status == 422


async def test_a_refused_step_keeps_no_domain_choice(client: Client, service: Service) -> None:
    path = await _submitted(client, service, **ELDERLY)
    resp = await _step(client, path, "staff", "publisher", domain="社会救助")  # the author
    assert resp.status == 403
    shown = (await (await client.get(path, headers=auth("reviewer"))).json())["domain_review"]
    assert shown["reviewed_by"] is None and await _domain_audits(service) == []


async def test_a_new_submission_clears_the_choice(client: Client, service: Service) -> None:
    path = await _submitted(client, service, **ELDERLY)
    assert (await _step(client, path, "staff", "reviewer", domain="社会救助")).status == 200
    body = {"step": "leader", "decision": "reject", "opinion": "请补充领取地点"}
    assert (await client.post(f"{path}/review", json=body, headers=auth("leader"))).status == 200
    assert (await client.post(f"{path}/submit", headers=auth())).status == 200
    shown = (await (await client.get(path, headers=auth("reviewer"))).json())["domain_review"]
    assert shown["reviewed_by"] is None and shown["domains"] == ["养老服务"]
