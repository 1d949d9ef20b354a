"""Error middleware: every failure becomes a JSON answer with a message, never a traceback."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import ValidationError

from pusher.errors import UserError

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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
            return error_body(exc.status, exc.reason)
        raise
    except Exception:
        log.exception("unhandled error", extra={"path": request.path})
        return error_body(500, "服务器内部错误，已记录")
