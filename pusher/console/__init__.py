"""The web console for office staff and grid workers (server-rendered, zh-CN).

Sessions live in an encrypted cookie keyed from ``settings.secret_key``; every console
POST must carry the session's CSRF token; errors on console pages render as HTML.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from pusher.console import routes
from pusher.console.middleware import console_middleware
from pusher.console.session import COOKIE_SECURE, FERNET, make_fernet
from pusher.console.throttle import throttle_ctx
from pusher.web.cookies import cookie_secure
from pusher.web.keys import SETTINGS
from pusher.web.local_time import localdate, localtime

HERE = Path(__file__).parent


def setup_console(app: web.Application) -> None:
    """Register the console's routes, templates and session handling on ``app``."""
    settings = app[SETTINGS]
    app[FERNET] = make_fernet(settings.secret_key.get_secret_value())
    app[COOKIE_SECURE] = cookie_secure(settings.cookie_secure, settings.public_url)
    app.cleanup_ctx.append(throttle_ctx)
    app.middlewares.append(console_middleware)
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
        filters={"localtime": localtime, "localdate": localdate},
    )
    routes.setup_routes(app, static=HERE / "static")
