"""The web console for office staff and grid workers (server-rendered, zh-CN)."""

from __future__ import annotations

from aiohttp import web


def setup_console(app: web.Application) -> None:
    """Register the console's routes, templates and session handling on ``app``."""
