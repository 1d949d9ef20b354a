"""The OpenAPI 3.1 document of the JSON API, built from the same pydantic models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web
from pydantic.json_schema import models_json_schema

from pusher import __version__
from pusher.pipeline.ingest import ItemIn
from pusher.web.api_items import ReviewIn

_ERR = {"$ref": "#/components/schemas/Error"}


def _op(
    summary: str, *, body: str | None = None, ok: int = 200, params: Sequence[str] = ()
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "security": [{"bearer": []}],
        "responses": {
            str(ok): {"description": "OK"},
            "401": {"description": "未登录", "content": {"application/json": {"schema": _ERR}}},
            "403": {"description": "无权限", "content": {"application/json": {"schema": _ERR}}},
            "422": {"description": "输入有误", "content": {"application/json": {"schema": _ERR}}},
        },
        "parameters": [
            {
                "name": p,
                "in": "path" if p.endswith("_id}") else "query",
                "required": p.endswith("_id}"),
                "schema": {"type": "string"},
            }
            for p in params
        ],
    }
    for p in op["parameters"]:
        p["name"] = p["name"].strip("{}")
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        }
    return op


def document() -> dict[str, Any]:
    _, schemas = models_json_schema(
        [(ItemIn, "validation"), (ReviewIn, "validation")],
        ref_template="#/components/schemas/{model}",
    )
    components = schemas.get("$defs", {})
    components["Error"] = {
        "type": "object",
        "properties": {
            "error": {"type": "string"},
            "field": {"type": "string"},
            "fields": {"type": "array", "items": {"type": "object"}},
        },
        "required": ["error"],
    }
    page = ["limit", "offset"]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "pusher API",
            "version": __version__,
            "description": (
                "政务信息精准推送：信息、审核、推送与投递记录。"
                "正文上限见 PUSHER_MAX_BODY_CHARS（默认 50000 字，超出返回 413）。"
            ),
        },
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "paths": {
            "/api/v1/items": {
                "post": _op("新建信息（草稿）", body="ItemIn", ok=201),
                "get": _op("信息列表", params=["status", *page]),
            },
            "/api/v1/items/{item_id}": {
                "get": _op("信息详情（含审核记录、匹配原因）", params=["{item_id}"]),
                "put": _op("修改草稿或被退回的信息", body="ItemIn", params=["{item_id}"]),
            },
            "/api/v1/items/{item_id}/submit": {"post": _op("提交审核", params=["{item_id}"])},
            "/api/v1/items/{item_id}/review": {
                "post": _op(
                    "保密审查：经办人审核、领导审批或紧急一步审批",
                    body="ReviewIn",
                    params=["{item_id}"],
                ),
            },
            "/api/v1/items/{item_id}/preview": {
                "get": _op("推送预览：各渠道文字、长度、短信条数与受众估算", params=["{item_id}"]),
            },
            "/api/v1/pushes": {"get": _op("推送列表", params=["item_id", *page])},
            "/api/v1/pushes/{push_id}": {"get": _op("推送详情与各状态计数", params=["{push_id}"])},
            "/api/v1/deliveries": {
                "get": _op(
                    "投递记录",
                    params=["push_id", "resident_id", "status", "channel", "region", *page],
                ),
            },
        },
    }


async def openapi_view(_request: web.Request) -> web.Response:
    return web.json_response(document())
