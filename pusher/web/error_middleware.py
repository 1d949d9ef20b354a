"""Error middleware: every failure becomes a JSON answer with a message, never a traceback."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType

from aiohttp import web
from pydantic import ValidationError

from pusher.errors import UserError

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Where request bodies, forms and query strings are decoded: a ValueError or
# UnicodeDecodeError raised inside these is the client's bad input, not our bug.
_PARSERS = frozenset(
    {"aiohttp.web_request", "aiohttp.multipart", "aiohttp.helpers", "urllib.parse", "yarl._url"}
)


def error_body(status: int, message: str, **extra: object) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


def validation_errors(exc: ValidationError) -> web.Response:
    """422 naming each field that is wrong and why."""
    fields = [
        {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
        for e in exc.errors(include_url=False)
    ]
    names = "、".join(f["field"] for f in fields)
    return error_body(422, f"字段有误：{names}", fields=fields)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except UserError as exc:
        extra = {"field": exc.field} if exc.field else {}
        return error_body(exc.status, exc.message, **extra)
    except ValidationError as exc:
        return validation_errors(exc)
    except json.JSONDecodeError as exc:
        return error_body(400, f"请求体不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列")
    except web.HTTPRequestEntityTooLarge:
        return error_body(413, "请求体过大")
    except web.HTTPException as exc:
        if exc.status >= 400 and request.path.startswith(("/api/", "/callbacks/")):
            return _http_error(exc)
        raise
    except ValueError as exc:  # UnicodeDecodeError is one too
        if _from_request_parsing(exc.__traceback__):
            log.warning("unparsable request", extra={"path": request.path}, exc_info=True)
            return error_body(400, "请求无法解析：编码或格式有误")
        log.exception("unhandled error", extra={"path": request.path})
        return error_body(500, "服务器内部错误，已记录")
    except Exception:
        log.exception("unhandled error", extra={"path": request.path})
        return error_body(500, "服务器内部错误，已记录")


def _http_error(exc: web.HTTPException) -> web.Response:
    """aiohttp's own 4xx (404, 405, 413 …) as JSON, keeping its ``Allow`` header."""
    answer = error_body(exc.status, exc.reason)
    if "Allow" in exc.headers:
        answer.headers["Allow"] = exc.headers["Allow"]
    return answer


def _from_request_parsing(tb: TracebackType | None) -> bool:
    """True when the error was raised while aiohttp or urllib decoded the request."""
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__") in _PARSERS:
            return True
        tb = tb.tb_next
    return False
