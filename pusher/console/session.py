"""Console sessions in an encrypted cookie (Fernet, keyed from ``settings.secret_key``).

A small replacement for aiohttp-session's middleware, which keeps its state under string
request keys (a warning on aiohttp ≥ 3.11); this one uses a typed ``web.RequestKey`` and
only runs for console routes.

The cookie is ``HttpOnly``, ``SameSite=Lax`` and, when :data:`COOKIE_SECURE` says so,
``Secure``. A signed-in session holds the user's ``session_version`` (:data:`VERSION`);
a session whose version is not the user's current one is over (logout and password
changes raise the version, ending every copy of every cookie of that user).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from aiohttp import web
from cryptography.fernet import Fernet, InvalidToken

COOKIE = "pusher_session"
MAX_AGE = 12 * 3600
VERSION = "ver"


class Session(dict[str, Any]):
    """The session's values; ``changed`` marks that the cookie must be written."""

    changed: bool = False
    fresh: bool = True

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.changed = True

    def invalidate(self) -> None:
        """Forget everything (logout): the cookie is cleared."""
        self.clear()
        self.changed = True


SESSION = web.RequestKey("console_session", Session)
FERNET = web.AppKey("console_fernet", Fernet)
COOKIE_SECURE = web.AppKey("console_cookie_secure", bool)


def make_fernet(secret: str) -> Fernet:
    digest = hashlib.sha256(b"pusher-console-session:" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def load(request: web.Request) -> Session:
    """The session from the request's cookie (empty when missing, expired or forged)."""
    session = Session()
    raw = request.cookies.get(COOKIE)
    if raw:
        try:
            data = json.loads(request.app[FERNET].decrypt(raw.encode(), ttl=MAX_AGE))
        except (InvalidToken, ValueError):
            data = None
        if isinstance(data, dict):
            dict.update(session, data)
            session.fresh = False
    request[SESSION] = session
    return session


def save(request: web.Request, response: web.StreamResponse) -> None:
    """Write the cookie if the session changed (also refreshes its lifetime)."""
    session = request.get(SESSION)
    if session is None or not session.changed or response.prepared:
        return
    if not session:
        response.del_cookie(COOKIE, path="/", secure=request.app[COOKIE_SECURE])
        return
    token = request.app[FERNET].encrypt(json.dumps(dict(session)).encode()).decode()
    response.set_cookie(
        COOKIE,
        token,
        max_age=MAX_AGE,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=request.app[COOKIE_SECURE],
    )


def get_session(request: web.Request) -> Session:
    """This request's session (loaded by the console middleware)."""
    session = request.get(SESSION)
    return session if session is not None else load(request)


def new_session(request: web.Request) -> Session:
    """A fresh session (after login), so an old session id cannot be fixed on a user."""
    session = get_session(request)
    session.invalidate()
    return session
