"""One-time notices after a redirect ("已新建…"), kept in the session, never in the URL
(a message in the query string could be forged into a link)."""

from __future__ import annotations

from aiohttp import web

from pusher.console.session import get_session

KEY = "flash"
MAX = 300


def flash(request: web.Request, text: str) -> None:
    get_session(request)[KEY] = text[:MAX]


def take_flash(request: web.Request) -> str:
    session = get_session(request)
    text = session.get(KEY)
    if text is None:
        return ""
    del session[KEY]
    session.changed = True
    return str(text)
