"""Hostile input gets a 4xx with a Chinese sentence, never a 500 (issue 16, "500s instead of 4xx").

Ids beyond 64 bits, Unicode digits, bodies that are not UTF-8, JSON nested 100,000 deep,
control characters in titles, NUL characters on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from pusher.runtime.resources import bind_local, open_resources
from pusher.settings import Settings
from pusher.web.app import create_app
from pusher.web.error_middleware import errors_middleware
from tests.console.test_console import Console, console  # noqa: F401 (fixture)
from tests.spine.conftest import Service, start
from tests.spine.flow import auth, item

Client = TestClient[object, object]
TOO_BIG = str(2**64)  # beyond any BIGINT; ids are INTEGER: 2**31 - 1 is the largest






async def _error(answer: object) -> str:
    body = await answer.json()  # type: ignore[attr-defined]
    message = body["error"]
    assert isinstance(message, str) and any("\u4e00" <= c <= "\u9fff" for c in message), body
    return message


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/items/{TOO_BIG}",
        f"/api/v1/items/{2**63}",
        f"/api/v1/items/{2**31}",
        "/api/v1/items/²",
        "/api/v1/items/٣",
        f"/api/v1/items/{TOO_BIG}/preview",
        f"/api/v1/pushes/{TOO_BIG}",
        "/api/v1/pushes/٣",
    ],
)
async def test_ids_that_cannot_exist_are_not_found(client: Client, path: str) -> None:
    answer = await client.get(path, headers=auth())
    assert answer.status in (404, 422)
    await _error(answer)


@pytest.mark.parametrize(
    "query",
    [
        "limit=٣",
        "offset=٣",
        "limit=²",
        f"offset={TOO_BIG}",
        "offset=-1",
    ],
)
async def test_bad_page_numbers_are_refused_naming_the_parameter(
    client: Client, query: str
) -> None:
    for path in ("/api/v1/items", "/api/v1/pushes", "/api/v1/deliveries"):
        answer = await client.get(f"{path}?{query}", headers=auth())
        assert answer.status == 422, (path, query, await answer.text())
        assert (await answer.json())["field"] == query.split("=")[0]


@pytest.mark.parametrize(
    "query", [f"item_id={TOO_BIG}", f"item_id={2**31}", "item_id=٣", "push_id=²"]
)
async def test_bad_id_filters_are_refused(client: Client, query: str) -> None:
    path = "/api/v1/pushes" if query.startswith("item_id") else "/api/v1/deliveries"
    answer = await client.get(f"{path}?{query}", headers=auth())
    assert answer.status == 422
    assert (await answer.json())["field"] == query.split("=")[0]


async def test_a_body_that_is_not_utf8_is_a_400(client: Client, service: Service) -> None:
    raw = b'{"title": "\xc4\xe3\xba\xc3", "body": "x"}'  # GBK, as an old client might send
    answer = await client.post(
        "/api/v1/items", data=raw, headers=auth() | {"Content-Type": "application/json"}
    )
    assert answer.status == 400
    assert "UTF-8" in await _error(answer)


@pytest.mark.parametrize("opener", ["[", '{"a":'])
async def test_json_nested_100000_deep_is_refused(client: Client, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    raw = (opener * 100_000 + "1" + closer * 100_000).encode()
    answer = await client.post("/api/v1/items", data=raw, headers=auth())
    assert answer.status in (400, 413)
    await _error(answer)
    items = await client.get("/api/v1/items", headers=auth())
    assert items.status == 200  # the service is still up


@pytest.mark.parametrize("bad", ["\x00", "\x1b[31m", "\u202e", "\u2066", "\x85", "\x07", "\r"])
async def test_control_characters_in_a_title_are_refused(
    client: Client, service: Service, bad: str
) -> None:
    answer = await client.post(
        "/api/v1/items", json=item(service, title=f"通知{bad}内容"), headers=auth()
    )
    assert answer.status == 422
    assert "title" in await _error(answer)
    listed = await (await client.get("/api/v1/items", headers=auth())).json()
    assert listed["total"] == 0


async def test_control_characters_are_stripped_from_a_body(
    client: Client, service: Service
) -> None:
    body = "第一行\r\n第二行\x1b[0m\u202e结尾\r\t完"
    created = await client.post("/api/v1/items", json=item(service, body=body), headers=auth())
    assert created.status == 201
    stored = await (
        await client.get(f"/api/v1/items/{(await created.json())['id']}", headers=auth())
    ).json()
    assert stored["body"] == "第一行\n第二行[0m结尾\t完"


@pytest.fixture
async def pg_client(production_settings: Settings) -> AsyncIterator[tuple[Client, Service]]:
    town, tokens = await start(production_settings, residents=20)
    async with open_resources(production_settings) as resources:
        bind_local(resources)
        c: Client = TestClient(TestServer(create_app(production_settings, resources=resources)))
        await c.start_server()
        yield c, Service(resources, town, tokens)
        await c.close()


@pytest.mark.parametrize("field", ["title", "body", "publisher", "external_id", "domain"])
async def test_nul_in_any_string_field_is_a_422_on_postgresql(
    pg_client: tuple[Client, Service], field: str
) -> None:
    client, service = pg_client
    data = item(service, **{field: "青山\x00镇"})
    answer = await client.post("/api/v1/items", json=data, headers=auth())
    assert answer.status == 422, await answer.text()
    assert field in await _error(answer)


async def test_nul_in_a_review_opinion_is_a_422_on_postgresql(
    pg_client: tuple[Client, Service],
) -> None:
    client, service = pg_client
    created = await client.post("/api/v1/items", json=item(service), headers=auth())
    base = f"/api/v1/items/{(await created.json())['id']}"
    assert (await client.post(f"{base}/submit", headers=auth())).status == 200
    review = {"step": "staff", "decision": "approve", "opinion": "不涉密\x00"}
    answer = await client.post(f"{base}/review", json=review, headers=auth("reviewer"))
    assert answer.status == 422, await answer.text()
    assert "opinion" in await _error(answer)


@pytest.mark.parametrize(
    "path", [f"/items/{TOO_BIG}", "/items/٣", f"/residents/{TOO_BIG}", f"/rules/{TOO_BIG}"]
)
async def test_console_ids_that_cannot_exist_are_not_found(
    console: Console,  # noqa: F811
    path: str,
) -> None:
    assert await console.login("admin") == 302
    answer = await console.client.get(path)
    assert answer.status == 404, await answer.text()


async def test_console_page_numbers_beyond_64_bits_show_the_first_page(
    console: Console,  # noqa: F811
) -> None:
    assert await console.login("admin") == 302
    for page in (TOO_BIG, "٣", "²"):
        answer = await console.client.get(f"/items?page={page}")
        assert answer.status == 200, (page, await answer.text())



async def test_stray_decoding_errors_of_a_request_are_400_and_our_own_bugs_stay_500() -> None:
    async def reads_json(request: web.Request) -> web.Response:
        return web.json_response(await request.json())  # aiohttp decodes the body

    async def has_a_bug(_request: web.Request) -> web.Response:
        return web.json_response(int("not a number"))  # a ValueError of our own

    app = web.Application(middlewares=[errors_middleware])
    app.router.add_post("/api/json", reads_json)
    app.router.add_post("/api/bug", has_a_bug)
    async with TestClient(TestServer(app)) as c:
        json = {"Content-Type": "application/json"}
        bad = await c.post("/api/json", data=b'{"a": "\xff"}', headers=json)
        assert bad.status == 400
        await _error(bad)
        assert (await c.post("/api/bug")).status == 500
        wrong_method = await c.get("/api/json")
        assert wrong_method.status == 405 and wrong_method.headers["Allow"] == "POST"
