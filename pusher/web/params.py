"""Reading request parameters and JSON bodies with clear 4xx errors.

Every id and integer that comes from a path, a query string or a form goes through
:func:`parse_int`: ASCII digits only (Python's ``int()`` and ``str.isdigit()`` also take
``²`` or ``٣``) and within a signed 64-bit column, so nothing odd reaches the database
driver. JSON bodies go through :func:`json_object`: bounded in size and depth, UTF-8, and
no NUL characters (PostgreSQL text columns refuse them).
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from pusher.errors import InvalidInput, NotFound, UserError

#: The largest value of a signed 64-bit (BIGINT) column: any integer parameter fits it.
MAX_INT = 2**63 - 1
#: The largest id: every id column is an INTEGER (signed 32-bit). A larger number names
#: nothing, and PostgreSQL refuses a query that compares an INTEGER with it.
MAX_ID = 2**31 - 1
MAX_DEPTH = 32

_INT = re.compile(r"[+-]?[0-9]{1,19}")
# An unterminated string runs to the end, so every match attempt succeeds: linear time.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*+(?:"|\Z)', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class BadRequest(UserError):
    status = 400


def parse_int(raw: str, *, low: int = -MAX_INT, high: int = MAX_INT) -> int | None:
    """``raw`` as an integer in ``low..high``; None when it is not one (ASCII digits only)."""
    if not _INT.fullmatch(raw):
        return None
    value = int(raw)
    return value if low <= value <= high else None


def parse_id(raw: str) -> int | None:
    """A positive id that fits an INTEGER column, or None."""
    return parse_int(raw, low=1, high=MAX_ID)


def int_param(request: web.Request, name: str) -> int:
    """The id in path segment ``name``; 404 when it cannot be an id."""
    raw = request.match_info[name]
    value = parse_id(raw)
    if value is None:
        raise NotFound(f"{raw[:40]} 不是有效的编号")
    return value


def query_int(
    request: web.Request, name: str, default: int | None = None, *, low: int = -MAX_INT
) -> int | None:
    """Query parameter ``name`` as an integer (``default`` when absent); 422 otherwise."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    value = parse_int(raw, low=low)
    if value is None:
        raise InvalidInput(f"参数 {name} 应为整数（0–9 组成，不超过 64 位）", field=name)
    return value


def query_id(request: web.Request, name: str) -> int | None:
    """Query parameter ``name`` as a positive id, None when absent; 422 otherwise."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    value = parse_id(raw)
    if value is None:
        raise InvalidInput(f"参数 {name} 应为编号（1 到 {MAX_ID} 的整数）", field=name)
    return value


def page(request: web.Request, *, max_limit: int = 500) -> tuple[int, int]:
    """``limit`` (1..max_limit, default 50) and ``offset`` (0 or more) from the query;
    an API parameter given empty (``limit=``) is not an integer: 422, not the default."""
    for name in ("limit", "offset"):
        if request.query.get(name) == "":
            raise InvalidInput(f"参数 {name} 应为整数（0–9 组成，不超过 64 位）", field=name)
    limit = query_int(request, "limit", 50)
    offset = query_int(request, "offset", 0)
    assert limit is not None and offset is not None
    if not 1 <= limit <= max_limit:
        raise InvalidInput(f"limit 应在 1 到 {max_limit} 之间", field="limit")
    if offset < 0:
        raise InvalidInput("offset 不能为负", field="offset")
    return limit, offset


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object: UTF-8, nested at most 32 deep, no NUL.

    Its size is bounded by the app's ``client_max_size`` (413 beyond it).
    """
    data = loads_object(await request.read())
    _refuse_nul(data, "body")
    return data


def loads_object(raw: bytes) -> dict[str, Any]:
    """Parse ``raw`` as a JSON object, with 400s for what is not one."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"请求体不是有效的 UTF-8 编码（第 {exc.start} 字节）") from None
    if depth(text) > MAX_DEPTH:
        raise BadRequest(f"请求体的 JSON 嵌套超过 {MAX_DEPTH} 层")
    try:
        data = json.loads(text)
    except RecursionError:  # the depth scan should have caught it; never a 500
        raise BadRequest(f"请求体的 JSON 嵌套超过 {MAX_DEPTH} 层") from None
    except json.JSONDecodeError as exc:
        raise BadRequest(f"请求体不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列") from None
    if not isinstance(data, dict):
        raise InvalidInput("请求体应为 JSON 对象", field="body")
    return data


def depth(text: str) -> int:
    """How deep the arrays and objects of JSON ``text`` nest (brackets in strings ignored)."""
    level = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):
        level += 1 if match.group() in "[{" else -1
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            break
    return deepest


def _refuse_nul(value: object, where: str) -> None:
    if isinstance(value, str) and "\x00" in value:
        raise InvalidInput(f"字段 {where} 含有不允许的空字符（NUL）", field=where)
    if isinstance(value, dict):
        for key, inner in value.items():
            name = key if where == "body" else f"{where}.{key}"
            _refuse_nul(key, name)
            _refuse_nul(inner, name)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            _refuse_nul(inner, f"{where}.{index}")
