"""The town API's part of the OpenAPI document: regions, topics, groups, group chats."""

from __future__ import annotations

from typing import Any

from pusher.models import GroupChatKind, RegionKind
from pusher.web.params import MAX_ID

_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
PARAMS: dict[str, dict[str, Any]] = {
    "region_id": _ID,
    "topic_id": _ID,
    "group_id": _ID,
    "chat_id": _ID,
    "kind": {"type": "string", "enum": [k.value for k in RegionKind]},
}


def _obj(required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


def answers() -> dict[str, Any]:
    """Schemas of the success answers."""
    integer, text, flag = {"type": "integer"}, {"type": "string"}, {"type": "boolean"}
    maybe_int, maybe_text = {"type": ["integer", "null"]}, {"type": ["string", "null"]}
    rows: dict[str, Any] = {"type": "array"}
    counts = {"type": "object", "additionalProperties": {"type": "integer"}}
    region = _obj(
        ["id", "code", "name", "kind", "active"],
        id=integer,
        code=text,
        name=text,
        kind={"type": "string", "enum": list(RegionKind)},
        parent_id=maybe_int,
        path=text,
        active=flag,
        inactive_reason=maybe_text,
    )
    group = _obj(
        ["id", "name", "kind", "active"],
        id=integer,
        name=text,
        kind=text,
        region_id=maybe_int,
        topic_id=maybe_int,
        tag=maybe_text,
        active=flag,
        rules=rows | {"items": text},
        members=rows | {"items": integer},
    )
    chat = _obj(
        ["id", "name", "region_id", "kind", "robot_key", "active"],
        id=integer,
        name=text,
        region_id=integer,
        kind={"type": "string", "enum": [k.value for k in GroupChatKind]},
        robot_key=text,
        keeper_user_id=maybe_int,
        owner_userid=maybe_text,
        wecom_chat_id=maybe_text,
        active=flag,
        moved=integer,
        cancelled=integer,
    )
    return {
        "Region": region,
        "RegionList": _obj(
            ["regions"], regions=rows | {"items": {"$ref": "#/components/schemas/Region"}}
        ),
        "RegionReport": _obj(
            ["ok", "total", "created", "renamed", "unchanged", "errors"],
            ok=flag,
            total=integer,
            created=integer,
            renamed=integer,
            unchanged=integer,
            errors=rows
            | {"items": _obj(["row", "code", "reason"], row=integer, code=text, reason=text)},
            unknown_columns=rows,
        ),
        "Retirement": _obj(
            ["id", "outcome"],
            id=integer,
            outcome={"type": "string", "enum": ["deleted", "deactivated"]},
        ),
        "Topic": _obj(
            ["id", "name", "builtin", "active"],
            id=integer,
            name=text,
            builtin=flag,
            active=flag,
            keywords=rows,
            position=integer,
        ),
        "TopicList": _obj(
            ["topics"], topics=rows | {"items": {"$ref": "#/components/schemas/Topic"}}
        ),
        "Group": group,
        "GroupList": _obj(
            ["groups"], groups=rows | {"items": {"$ref": "#/components/schemas/Group"}}
        ),
        "GroupPreview": _obj(
            ["group_id", "total", "by_channel", "by_village"],
            group_id=integer,
            total=integer,
            by_channel=counts,
            by_village=rows
            | {
                "items": _obj(
                    ["village", "total", "by_channel"],
                    village=text,
                    total=integer,
                    by_channel=counts,
                )
            },
        ),
        "MemberCount": _obj(["group_id", "members"], group_id=integer, members=integer),
        "GroupChat": chat,
        "GroupChatList": _obj(
            ["group_chats"],
            group_chats=rows | {"items": {"$ref": "#/components/schemas/GroupChat"}},
        ),
        "ChatTest": _obj(["id", "ok", "message"], id=integer, ok=flag, message=text),
    }


R, T, G, C = ["region_id"], ["topic_id"], ["group_id"], ["chat_id"]
W: dict[str, Any] = {"writes": True}
#: (path, method, summary, answer schema, options for openapi's ``_op``)
OPERATIONS: tuple[tuple[str, str, str, str, dict[str, Any]], ...] = (
    ("/api/v1/regions", "get", "区域列表（网格员只见本人负责的区域）", "RegionList",
     {"page": 5000}),
    ("/api/v1/regions", "post", "新建区域（仅管理员；网格代码可留空自动编号）", "Region",
     {"body": "RegionBody", "ok": 201, **W}),
    ("/api/v1/regions/import", "post",
     "批量导入区域（代码、名称、上级代码）：有一行出错则全部不写入（422 附逐行报告）",
     "RegionReport", {"body": "RegionImport"}),
    ("/api/v1/regions/{region_id}", "get", "区域详情", "Region", {"path": R}),
    ("/api/v1/regions/{region_id}", "put", "改名或移到同级的另一个上级之下（仅管理员）", "Region",
     {"body": "RegionChange", "path": R, **W}),
    ("/api/v1/regions/{region_id}/deactivate", "post",
     "停用区域：未被使用的删除，有居民或历史记录的停用并记录原因（仅管理员）", "Retirement",
     {"body": "Retire", "path": R, **W}),
    ("/api/v1/topics", "get", "领域列表（内置 26 个领域与本镇自设领域）", "TopicList", {}),
    ("/api/v1/topics", "post", "新增自设领域及其关键词", "Topic",
     {"body": "TopicBody", "ok": 201, **W}),
    ("/api/v1/topics/{topic_id}", "get", "领域详情", "Topic", {"path": T}),
    ("/api/v1/topics/{topic_id}", "put", "修改领域：自设领域可改名、改关键词；均可调整顺序",
     "Topic", {"body": "TopicBody", "path": T, **W}),
    ("/api/v1/topics/{topic_id}/deactivate", "post", "停用自设领域（内置领域不能停用）", "Topic",
     {"path": T, **W}),
    ("/api/v1/groups", "get", "推送对象列表", "GroupList", {}),
    ("/api/v1/groups", "post", "新建推送对象（地区、订阅、标签、名单）及其规则", "Group",
     {"body": "GroupBody", "ok": 201, **W}),
    ("/api/v1/groups/{group_id}", "get", "推送对象详情（含规则、名单成员）", "Group", {"path": G}),
    ("/api/v1/groups/{group_id}", "put", "修改推送对象；给出 rules 时替换全部规则", "Group",
     {"body": "GroupBody", "path": G, **W}),
    ("/api/v1/groups/{group_id}/deactivate", "post", "停用推送对象", "Group", {"path": G, **W}),
    ("/api/v1/groups/{group_id}/preview", "get", "现在有谁在这个推送对象里：按村和渠道计数",
     "GroupPreview", {"path": G}),
    ("/api/v1/groups/{group_id}/members", "put", "设置名单成员（只能增删本人负责区域内的居民）",
     "MemberCount", {"body": "Members", "path": G}),
    ("/api/v1/group-chats", "get", "群聊列表（机器人 key 打码显示）", "GroupChatList", {}),
    ("/api/v1/group-chats", "post", "登记群聊（群机器人、客户群或普通微信群）",
     "GroupChat",
     {"body": "ChatBody", "ok": 201, **W}),
    ("/api/v1/group-chats/{chat_id}", "get", "群聊详情", "GroupChat", {"path": C}),
    ("/api/v1/group-chats/{chat_id}", "put", "修改群聊；更换机器人 key 时待发消息改发新 key",
     "GroupChat", {"body": "ChatBody", "path": C, **W}),
    ("/api/v1/group-chats/{chat_id}/deactivate", "post", "停用群聊：待发消息取消", "GroupChat",
     {"path": C, **W}),
    ("/api/v1/group-chats/{chat_id}/test", "post",
     "向群里发一条测试消息（每群每 10 分钟最多 5 条，超出 429）", "ChatTest", {"path": C, **W}),
)  # fmt: skip


def paths(op: Any, page: Any) -> dict[str, Any]:
    """The paths, built with openapi's ``_op`` (passed in) and its paging parameters."""
    out: dict[str, Any] = {}
    for path, method, summary, answer, options in OPERATIONS:
        kwargs = dict(options)
        if "page" in kwargs:
            query = ["kind", *page(kwargs.pop("page"))] if path.endswith("regions") else []
            kwargs["query"] = query
        out.setdefault(path, {})[method] = op(summary, answer, **kwargs)
    too_many = {"description": "测试消息发得太频繁", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}}  # fmt: skip
    out["/api/v1/group-chats/{chat_id}/test"]["post"]["responses"]["429"] = too_many
    return out
