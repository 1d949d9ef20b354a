"""The OpenAPI 3.1 document of the JSON API, built from the same pydantic models.

Every operation declares the errors it can answer (400 unreadable body, 401, 403, 404,
413, 422) and the schema of its success; query and path parameters carry their real
types (ids are 64-bit integers, statuses are enums), so a client or a fuzzer
(Schemathesis, see tests/spine/test_schemathesis.py) can check answers against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web
from pydantic.json_schema import models_json_schema

from pusher import __version__
from pusher.models import DeliveryStatus, ItemStatus
from pusher.pipeline.ingest import ItemIn
from pusher.rosters.single import ResidentIn
from pusher.sources.config import SourceIn
from pusher.town.schemas import MODELS as TOWN_MODELS
from pusher.web import openapi_town
from pusher.web.api_items import ReviewIn
from pusher.web.api_lifecycle import CorrectIn, ExpireIn, TakeDownIn, WithdrawIn
from pusher.web.api_roster import BulkIn, DeactivateIn
from pusher.web.params import MAX_ID, MAX_INT

_ERRORS = {
    "400": "请求体无法解析（不是 UTF-8 或 JSON，或嵌套过深）",
    "401": "未登录",
    "403": "无权限",
    "404": "不存在",
    "413": "请求体或正文过大",
    "422": "输入有误",
}
_CONFLICT = "信息当前的状态不允许此操作（如已提交的信息不能再改）"
_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
_PARAMS: dict[str, dict[str, Any]] = {
    "item_id": _ID,
    "push_id": _ID,
    "resident_id": _ID,
    "source_id": _ID,
    "offset": {"type": "integer", "minimum": 0, "maximum": MAX_INT, "default": 0},
    # Free text: an unknown region code or channel just matches nothing.
    "region": {"type": "string"},
    "channel": {"type": "string"},
    **openapi_town.PARAMS,
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _param(name: str, *, path: bool, schema: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path" if path else "query",
        "required": path,
        "schema": schema or _PARAMS[name],
    }


def _op(
    summary: str,
    returns: str,
    *,
    body: str | None = None,
    ok: int = 200,
    path: Sequence[str] = (),
    query: Sequence[str | tuple[str, dict[str, Any]]] = (),
    writes: bool = False,
) -> dict[str, Any]:
    """One operation: bearer auth, its parameters, its success schema and its errors."""
    responses = {str(ok): _json(_ref(returns), "成功")}
    if ok == 201:
        responses["200"] = _json(_ref(returns), "同一 external_id 已存在：返回已有信息")
    responses |= {code: _json(_ref("Error"), text) for code, text in _ERRORS.items()}
    if writes:
        responses["409"] = _json(_ref("Error"), _CONFLICT)
    params = [_param(p, path=True, schema=None) for p in path]
    for entry in query:
        name, schema = (entry, None) if isinstance(entry, str) else entry
        params.append(_param(name, path=False, schema=schema))
    op: dict[str, Any] = {
        "summary": summary,
        "security": [{"bearer": []}],
        "parameters": params,
        "responses": responses,
    }
    if body:
        content = {"application/json": {"schema": _ref(body)}}
        op["requestBody"] = {"required": True, "content": content}
    return op


def _page(max_limit: int) -> list[str | tuple[str, dict[str, Any]]]:
    limit = {"type": "integer", "minimum": 1, "maximum": max_limit, "default": 50}
    return [("limit", limit), "offset"]


def _enum(values: Sequence[str]) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


def _object(required: Sequence[str], **properties: dict[str, Any]) -> dict[str, Any]:
    """An object schema; further properties are allowed (the API may add fields)."""
    return {"type": "object", "required": list(required), "properties": properties}


def _catalogue() -> dict[str, dict[str, Any]]:
    """The item's catalogue fields and interpretation as answered (null when not given)."""
    text, links = {"type": ["string", "null"]}, {"type": ["array", "null"]}
    return {
        "basis": text,
        "time_limit_days": {"type": ["integer", "null"]},
        "audience": text,
        "disclosure_channels": links | {"items": {"type": "string"}},
        "doc_number": text,
        "index_number": text,
        # {"text", "url", "attachment": {"name", "url"}, "by", "contact"} (政策解读)
        "interpretation": {"type": ["object", "null"]},
        "attachments": links | {"items": _object(["name", "url"], name=text, url=text)},
        "source_id": {"type": ["integer", "null"]},
    }


def _answers() -> dict[str, Any]:
    """Schemas of the success answers."""
    integer, text, rows = {"type": "integer"}, {"type": "string"}, {"type": "array"}
    item = _object(
        ["id", "title", "body", "status", "region_id"],
        id=integer,
        title=text,
        body=text,
        status=_enum(list(ItemStatus)),
        region_id=integer,
        **_catalogue(),
    )
    detail = item | {"required": [*item["required"], "reviews", "matches", "push_id"]}
    detail["properties"] = item["properties"] | {
        "reviews": rows,
        "matches": rows,
        "push_id": {"type": ["integer", "null"]},
        # who marked the item urgent (username, role, a note for reviewers), or null
        "urgent_marked_by": {"type": ["object", "null"]},
        # the domain: declared, else the classifier's suggestion with its reasons, and the
        # reviewer's decision (reviewed_by, reviewed_domain; null domain = no domain)
        "domain_review": {"type": "object"},
    }
    push = _object(["id", "item_id"], id=integer, item_id=integer)
    return {
        "Item": item,
        "ItemDetail": detail,
        "ItemList": _object(
            ["total", "items"], total=integer, items=rows | {"items": _ref("Item")}
        ),
        "Preview": {"type": "object"},
        "Push": push,
        "TakeDown": _object(["item_id", "cancelled"], item_id=integer, cancelled=integer),
        # the withdrawal notice's item id (null when none was asked for)
        "Withdrawal": _object(
            ["item_id", "cancelled", "notice_item_id"],
            item_id=integer,
            cancelled=integer,
            notice_item_id={"type": ["integer", "null"]},
        ),
        "Expiry": _object(["item_id", "expires_at"], item_id=integer, expires_at=text),
        "PushDetail": _object(["id", "counts"], id=integer, counts={"type": "object"}),
        "PushList": _object(["pushes"], pushes=rows | {"items": _ref("Push")}),
        "DeliveryList": _object(
            ["total", "deliveries"],
            total=integer,
            total_capped={"type": "boolean"},  # more rows than ``total`` (counted up to a cap)
            deliveries=rows | {"items": _object(["id", "push_id"], id=integer, push_id=integer)},
        ),
        "Erasure": _object(
            ["id", "erased"], id=integer, erased={"type": "boolean"}, rows={"type": "object"}
        ),
        "ErasureIn": _object(
            ["reason"], reason={"type": "string", "minLength": 1, "maxLength": 200}
        ),
        "Source": _object(
            ["id", "name", "kind", "url", "region_id", "enabled"],
            id=integer,
            name=text,
            kind=_enum(["rss", "html", "json"]),
            url=text,
            region_id=integer,
            enabled={"type": "boolean"},
            last_error={"type": ["string", "null"]},
            items_found=integer,
        ),
        "SourceList": _object(["sources"], sources=rows | {"items": _ref("Source")}),
        "FetchReport": _object(
            ["source_id", "outcomes", "error", "preview"],
            source_id=integer,
            outcomes={"type": "object"},
            error={"type": ["string", "null"]},
            preview=rows,
        ),
        **_residents(),
        "Error": _object(
            ["error"],
            error=text,
            field=text,
            fields={"type": "array", "items": {"type": "object"}},
        ),
    }


def _residents() -> dict[str, Any]:
    """Schemas of the residents' answers (a roster report is the import's)."""
    integer, text, rows = {"type": "integer"}, {"type": "string"}, {"type": "array"}
    resident = _object(
        ["id", "name", "grid", "active"],
        id=integer, name=text, phone={"type": ["string", "null"]}, grid=text, grid_name=text,
        key={"type": ["string", "null"]}, tags=rows, topics=rows,
        sms_consent={"type": "boolean"}, active={"type": "boolean"},
    )  # fmt: skip
    row = _object(
        ["row", "action"],
        row=integer, name=text, action=_enum(["add", "change", "unchanged", "error"]),
        resident_id={"type": ["integer", "null"]}, changes=rows, errors=rows,
    )  # fmt: skip
    return {
        "Resident": resident,
        "ResidentList": _object(
            ["total", "residents"], total=integer, residents=rows | {"items": _ref("Resident")}
        ),
        "RosterReport": _object(
            ["total", "counts", "applied", "rows", "moved_out_candidates"],
            total=integer,
            counts={"type": "object"},
            applied=integer,
            unknown_columns=rows,
            missing_columns=rows,
            rows=rows | {"items": row},
            moved_out_candidates=rows,
        ),
    }


def _resident_paths() -> dict[str, Any]:
    one = ["resident_id"]
    filters: list[str | tuple[str, dict[str, Any]]] = [
        ("grid", {"type": "string"}), ("q", {"type": "string"}), ("tag", {"type": "string"}),
        ("active", _enum(["true", "false", "all"])), *_page(500),
    ]  # fmt: skip
    return {
        "/api/v1/residents": {
            "get": _op("居民列表（管理员；网格员仅本人网格）", "ResidentList", query=filters),
            "post": _op("新增居民", "Resident", body="ResidentIn", ok=201),
        },
        "/api/v1/residents/bulk": {
            "post": _op(
                "批量导入或更新（与表格导入相同的列和检查结果）；dry_run=true 只检查不写入",
                "RosterReport",
                body="BulkIn",
                query=[("dry_run", _enum(["true", "false"]))],
            ),
        },
        "/api/v1/residents/{resident_id}": {
            "get": _op("居民详情", "Resident", path=one),
            "put": _op("修改居民", "Resident", body="ResidentIn", path=one),
        },
        "/api/v1/residents/{resident_id}/deactivate": {
            "post": _op(
                "停用（迁出）：保留记录，不再推送", "Resident", body="DeactivateIn", path=one
            ),
        },
    }


def _paths() -> dict[str, Any]:
    item = ["item_id"]
    return _resident_paths() | {
        "/api/v1/items": {
            "post": _op("新建信息（草稿）", "Item", body="ItemIn", ok=201),
            "get": _op(
                "信息列表", "ItemList", query=[("status", _enum(list(ItemStatus))), *_page(500)]
            ),
        },
        "/api/v1/items/{item_id}": {
            "get": _op("信息详情（含审核记录、匹配原因）", "ItemDetail", path=item),
            "put": _op("修改草稿或被退回的信息", "Item", body="ItemIn", path=item, writes=True),
        },
        "/api/v1/items/{item_id}/submit": {"post": _op("提交审核", "Item", path=item, writes=True)},
        "/api/v1/items/{item_id}/review": {
            "post": _op(
                "保密审查：经办人审核、领导审批或紧急一步审批",
                "Item",
                body="ReviewIn",
                path=item,
                writes=True,
            ),
        },
        "/api/v1/items/{item_id}/preview": {
            "get": _op("推送预览：各渠道文字、长度、短信条数与受众估算", "Preview", path=item),
        },
        "/api/v1/items/{item_id}/stop": {
            "post": _op(
                "停止推送：待发消息取消，已发出的不变（领导、管理员；紧急预警时值班人员）",
                "TakeDown",
                body="TakeDownIn",
                path=item,
                writes=True,
            ),
        },
        "/api/v1/items/{item_id}/withdraw": {
            "post": _op(
                "撤回信息：停止推送，公开页面显示已撤回；notify 为真时向已收到的居民和群"
                "按原渠道各发一条撤回通知（领导、管理员；紧急预警时值班人员）",
                "Withdrawal", body="WithdrawIn", path=item, writes=True,
            ),
        },
        "/api/v1/items/{item_id}/correct": {
            "post": _op(
                "更正：新版本提交审核，批准后发给首次收到的居民和群（发布者、领导）",
                "Item",
                body="CorrectIn",
                path=item,
                ok=201,
                writes=True,
            ),
        },
        "/api/v1/items/{item_id}/expire": {
            "post": _op(
                "设为失效（立即或指定时间起）：不再出现在通知列表",
                "Expiry",
                body="ExpireIn",
                path=item,
                writes=True,
            ),
        },
        "/api/v1/pushes": {"get": _op("推送列表", "PushList", query=["item_id", *_page(500)])},
        "/api/v1/pushes/{push_id}": {
            "get": _op("推送详情与各状态计数", "PushDetail", path=["push_id"])
        },
        "/api/v1/residents/{resident_id}/erase": {
            "post": _op(
                "删除居民个人信息（本人申请；仅管理员，须填原因，记入操作日志）",
                "Erasure",
                body="ErasureIn",
                path=["resident_id"],
            ),
        },
        "/api/v1/sources": {
            "get": _op("信息来源列表（县政务公开栏目、订阅源、平台接口）", "SourceList"),
            "post": _op("新增信息来源（仅管理员）", "Source", body="SourceIn", ok=201),
        },
        "/api/v1/sources/{source_id}": {
            "get": _op("信息来源详情与最近一次读取", "Source", path=["source_id"]),
            "put": _op("修改信息来源（仅管理员）", "Source", body="SourceIn", path=["source_id"]),
        },
        "/api/v1/sources/{source_id}/fetch": {
            "post": _op(
                "立即读取来源；dry_run=true 只预览将新建的草稿，不写入",
                "FetchReport",
                path=["source_id"],
                query=[("dry_run", _enum(["true", "false"]))],
            ),
        },
        "/api/v1/deliveries": {
            "get": _op(
                "投递记录",
                "DeliveryList",
                query=[
                    "push_id",
                    "resident_id",
                    ("status", _enum(list(DeliveryStatus))),
                    "channel",
                    ("kind", _enum(["resident", "group"])),
                    "region",
                    ("full", _enum(["0", "1"])),
                    ("after", _ID),  # the last id of the page before: keyset pages
                    *_page(1000),
                ],
            ),
        },
    }


def document() -> dict[str, Any]:
    """The whole OpenAPI document (served at ``/api/v1/openapi.json``)."""
    _, schemas = models_json_schema(
        [
            (ItemIn, "validation"),
            (ReviewIn, "validation"),
            (SourceIn, "validation"),
            (TakeDownIn, "validation"),
            (WithdrawIn, "validation"),
            (ExpireIn, "validation"),
            (CorrectIn, "validation"),
            (ResidentIn, "validation"),
            (BulkIn, "validation"),
            (DeactivateIn, "validation"),
            *((model, "validation") for model in TOWN_MODELS),
        ],
        ref_template="#/components/schemas/{model}",
    )
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
            "schemas": schemas.get("$defs", {}) | _answers() | openapi_town.answers(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "paths": _paths() | openapi_town.paths(_op, _page),
    }


async def openapi_view(_request: web.Request) -> web.Response:
    return web.json_response(document())
