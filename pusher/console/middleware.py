"""Console middleware: CSRF check on every console POST, errors as HTML pages, and the
security headers of every console response (CSP, no framing, no sniffing, same-origin
referrers; ``no-store`` on every page, since most show personal data or tokens)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from pusher.console.base import render
from pusher.console.csrf import csrf_ok
from pusher.console.session import load, save
from pusher.errors import UserError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PREFIX = "console."
STATIC = "console.static"
#: Scripts and styles only from our own files. Style *attributes* stay allowed: templates
#: set widths of progress bars in them; no inline <style> or <script> is allowed.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "style-src-attr 'unsafe-inline'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
EXPIRED = "页面已过期或来源不明（缺少安全令牌），请刷新页面后重试。"


def _is_console(request: web.Request) -> bool:
    name = request.match_info.route.name
    return name is not None and name.startswith(PREFIX)


@web.middleware
async def console_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse console POSTs without the CSRF token; show errors as readable pages."""
    if not _is_console(request):
        return await handler(request)
    load(request)
    response = await _guarded(request, handler)
    save(request, response)
    _secure(request, response)
    return response


def _secure(request: web.Request, response: web.StreamResponse) -> None:
    if response.prepared:
        return
    response.headers.update(HEADERS)
    if request.match_info.route.name != STATIC:
        response.headers["Cache-Control"] = "no-store"


async def _guarded(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        if request.method == "POST" and not await csrf_ok(request):
            return await _error(request, 403, EXPIRED)
        return await handler(request)
    except UserError as exc:
        return await _error(request, exc.status, exc.message)
    except web.HTTPRequestEntityTooLarge:
        return await _error(request, 413, "上传的文件过大，请拆分后分批导入。")
    except web.HTTPRedirection as exc:
        return web.Response(status=exc.status, headers={"Location": exc.location})


async def _error(request: web.Request, status: int, message: str) -> web.Response:
    if request.headers.get("Accept", "").startswith("application/json"):
        return web.json_response({"error": message}, status=status)
    return await render(request, "error.html", None, status=status, message=message)
