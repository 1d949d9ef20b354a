"""CSRF protection: a per-session token every console POST must carry.

Forms carry it as the ``csrf`` field, scripts as the ``X-CSRF-Token`` header.
"""

from __future__ import annotations

import hmac
import secrets

from aiohttp import web

from pusher.console.session import get_session

FIELD = "csrf"
HEADER = "X-CSRF-Token"


async def csrf_token(request: web.Request) -> str:
    """This session's token, created on first use."""
    session = get_session(request)
    token = session.get(FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[FIELD] = token
    return token


async def csrf_ok(request: web.Request) -> bool:
    """True when the POST carries this session's token."""
    session = get_session(request)
    expected = session.get(FIELD)
    if not isinstance(expected, str):
        return False
    sent = request.headers.get(HEADER)
    if sent is None:
        form = await request.post()
        value = form.get(FIELD)
        sent = value if isinstance(value, str) else None
    return sent is not None and hmac.compare_digest(sent, expected)
