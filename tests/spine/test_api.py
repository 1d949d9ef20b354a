"""The JSON API as a client sees it: auth, clear 4xx errors, the review flow, deliveries."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from pusher.runtime.queue import LocalQueue
from tests.spine.conftest import Service
from tests.spine.flow import auth, item


async def test_bad_input_gets_a_clear_4xx_naming_the_field(
    client: TestClient[object, object], service: Service
) -> None:
    missing = item(service)
    del missing["title"]
    answer = await client.post("/api/v1/items", json=missing, headers=auth("publisher"))
    assert answer.status == 422
    assert "title" in (await answer.json())["error"]
    unknown = await client.post(
        "/api/v1/items", json=item(service, region_code="999"), headers=auth("publisher")
    )
    assert unknown.status == 422 and (await unknown.json())["field"] == "region_code"
    huge = await client.post(
        "/api/v1/items", json=item(service, body="字" * 60_000), headers=auth("publisher")
    )
    assert huge.status == 413
    broken = await client.post("/api/v1/items", data=b"{not json", headers=auth("publisher"))
    assert broken.status == 400
    assert (await client.post("/api/v1/items", json=item(service))).status == 401
    assert (await client.get("/api/v1/items/abc", headers=auth("publisher"))).status == 404
    assert (await client.get("/api/v1/deliveries?limit=x", headers=auth("publisher"))).status == 422
    assert (await client.get("/api/v1/deliveries?limit=", headers=auth("publisher"))).status == 422


async def test_review_flow_through_the_api_pushes_once(
    client: TestClient[object, object], service: Service
) -> None:
    created = await client.post(
        "/api/v1/items", json=item(service, external_id="feed-1"), headers=auth("publisher")
    )
    assert created.status == 201
    item_id = (await created.json())["id"]
    again = await client.post(
        "/api/v1/items", json=item(service, external_id="feed-1"), headers=auth("publisher")
    )
    assert again.status == 200 and (await again.json())["id"] == item_id
    base = f"/api/v1/items/{item_id}"
    assert (await client.post(f"{base}/submit", headers=auth("publisher"))).status == 200
    approve = {"step": "staff", "decision": "approve", "opinion": "不涉密"}
    denied = await client.post(f"{base}/review", json=approve, headers=auth("publisher"))
    assert denied.status == 403
    assert (
        await client.post(f"{base}/review", json=approve, headers=auth("reviewer"))
    ).status == 200
    skip = await client.post(f"{base}/review", json=approve, headers=auth("reviewer"))
    assert skip.status == 409
    leader = {"step": "leader", "decision": "approve", "publish_form": "公众号、短信"}
    assert (
        await client.post(f"{base}/review", json=leader, headers=auth("leader"))
    ).status == 200
    queue = service.resources.queue
    assert isinstance(queue, LocalQueue)
    await queue.join()
    detail = await (await client.get(base, headers=auth("publisher"))).json()
    assert detail["status"] == "pushed" and detail["matches"]
    push = await (
        await client.get(f"/api/v1/pushes/{detail['push_id']}", headers=auth("publisher"))
    ).json()
    delivered = sum(counts.get("delivered", 0) for counts in push["counts"].values())
    listed = await (
        await client.get(
            f"/api/v1/deliveries?push_id={detail['push_id']}&status=delivered&limit=1000",
            headers=auth("publisher"),
        )
    ).json()
    assert delivered == listed["total"] > 0


async def test_on_request_items_are_approved_but_never_pushed(
    client: TestClient[object, object], service: Service
) -> None:
    created = await client.post(
        "/api/v1/items", json=item(service, disclosure="依申请公开"), headers=auth("publisher")
    )
    item_id = (await created.json())["id"]
    base = f"/api/v1/items/{item_id}"
    await client.post(f"{base}/submit", headers=auth("publisher"))
    for step, who in (("staff", "reviewer"), ("leader", "leader")):
        answer = await client.post(
            f"{base}/review", json={"step": step, "decision": "approve"}, headers=auth(who)
        )
        assert answer.status == 200
    queue = service.resources.queue
    assert isinstance(queue, LocalQueue)
    await queue.join()
    detail = await (await client.get(base, headers=auth("publisher"))).json()
    assert detail["status"] == "approved" and detail["push_id"] is None


async def test_openapi_document_lists_the_api(client: TestClient[object, object]) -> None:
    doc = await (await client.get("/api/v1/openapi.json")).json()
    assert doc["openapi"].startswith("3.")
    assert {"/api/v1/items", "/api/v1/items/{item_id}/review", "/api/v1/deliveries"} <= set(
        doc["paths"]
    )
    assert "ItemIn" in doc["components"]["schemas"]
