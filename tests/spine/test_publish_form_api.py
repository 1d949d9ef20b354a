"""The API's 发布形式 is a set of choices: a list of the channels' names, validated (422
naming the allowed values), stored in the register's order, and an enum in OpenAPI."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from pusher.models import Review
from tests.spine.conftest import Service
from tests.spine.flow import auth, item

ALLOWED = ["公众号", "短信", "村(居)民微信群", "企业微信群", "政府网站", "政务公开栏"]


async def _checked(client: TestClient[object, object], service: Service) -> str:
    created = await client.post("/api/v1/items", json=item(service), headers=auth("publisher"))
    base = f"/api/v1/items/{(await created.json())['id']}"
    assert (await client.post(f"{base}/submit", headers=auth("publisher"))).status == 200
    staff = {"step": "staff", "decision": "approve", "publish_form": ["短信", "公众号"]}
    assert (await client.post(f"{base}/review", json=staff, headers=auth("reviewer"))).status == 200
    return base


async def test_unknown_form_is_a_422_naming_the_allowed_values(
    client: TestClient[object, object], service: Service
) -> None:
    base = await _checked(client, service)
    bad = {"step": "leader", "decision": "approve", "publish_form": ["公众号", "微博"]}
    answer = await client.post(f"{base}/review", json=bad, headers=auth("leader"))
    assert answer.status == 422
    body = await answer.json()
    assert body["fields"][0]["field"] == "publish_form.1"
    assert all(name in body["fields"][0]["message"] for name in ALLOWED)
    joined = {"step": "leader", "decision": "approve", "publish_form": "短信、微信"}
    assert (await client.post(f"{base}/review", json=joined, headers=auth("leader"))).status == 422


async def test_chosen_forms_are_stored_in_the_register_order(
    client: TestClient[object, object], service: Service
) -> None:
    await _checked(client, service)
    async with service.resources.db() as db:
        stored = await db.scalar(select(Review.publish_form).where(Review.step == "staff"))
    assert stored == "公众号、短信"


async def test_openapi_names_the_choices(client: TestClient[object, object]) -> None:
    schemas = (await (await client.get("/api/v1/openapi.json")).json())["components"]["schemas"]
    assert schemas["PublishForm"]["enum"] == ALLOWED
    field = schemas["ReviewIn"]["properties"]["publish_form"]
    assert field["type"] == "array" and field["items"]["$ref"].endswith("/PublishForm")
