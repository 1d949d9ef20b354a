"""Reading request parameters with clear 4xx errors."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from pusher.errors import InvalidInput, NotFound


def int_param(request: web.Request, name: str) -> int:
    raw = request.match_info[name]
    if not raw.isdigit():
        raise NotFound(f"{raw} 不是有效的编号")
    return int(raw)


def query_int(request: web.Request, name: str, default: int | None = None) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"参数 {name} 应为整数", field=name) from None


def page(request: web.Request, *, max_limit: int = 500) -> tuple[int, int]:
    limit = query_int(request, "limit", 50) or 50
    offset = query_int(request, "offset", 0) or 0
    if not 1 <= limit <= max_limit or offset < 0:
        raise InvalidInput(f"limit 应在 1 到 {max_limit} 之间，offset 不能为负", field="limit")
    return limit, offset


async def json_object(request: web.Request) -> dict[str, Any]:
    data = await request.json()
    if not isinstance(data, dict):
        raise InvalidInput("请求体应为 JSON 对象", field="body")
    return data
