"""Who is on a ``/wx/`` page: the openid WeChat's OAuth told us, in a cookie of its own.

``/wx/login`` keeps a random ``state`` (and where to go next) in a short-lived encrypted
cookie and sends the browser to WeChat's authorize page (``snsapi_base``: silent);
WeChat sends it back to ``/wx/oauth`` with a code and the state. A state that is not
the cookie's is refused (403, audited): otherwise someone could log a resident in as
themselves (login CSRF). The code is exchanged for the openid, which the session cookie
(``pusher_wx``, Fernet keyed from the secret key apart from the console's) then carries,
with a CSRF token for the pages' forms.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any
from urllib.parse import quote

from aiohttp import web
from cryptography.fernet import Fernet, InvalidToken

from channels.base import ChannelError
from pusher.audit import record
from pusher.db import transaction
from pusher.errors import Forbidden, UserError
from pusher.residents.binding import actor
from pusher.residents.wxapi import account, authorize_url, oauth_openid
from pusher.web.clients import client_address
from pusher.web.cookies import cookie_secure
from pusher.web.keys import RESOURCES, SETTINGS

COOKIE = "pusher_wx"
STATE_COOKIE = "pusher_wx_state"
MAX_AGE = 30 * 24 * 3600
STATE_AGE = 600
WX_FERNET = web.AppKey("wx_fernet", Fernet)


def make_fernet(secret: str) -> Fernet:
    digest = hashlib.sha256(b"pusher-wx-session:" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _read(request: web.Request, name: str, max_age: int) -> dict[str, Any]:
    raw = request.cookies.get(name)
    if not raw:
        return {}
    try:
        data = json.loads(request.app[WX_FERNET].decrypt(raw.encode(), ttl=max_age))
    except (InvalidToken, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(
    request: web.Request, resp: web.StreamResponse, name: str, data: dict[str, Any], age: int
) -> None:
    settings = request.app[SETTINGS]
    token = request.app[WX_FERNET].encrypt(json.dumps(data).encode()).decode()
    secure = cookie_secure(settings.cookie_secure, settings.public_url)
    resp.set_cookie(
        name, token, max_age=age, path="/wx/", httponly=True, samesite="Lax", secure=secure
    )


def session(request: web.Request) -> dict[str, Any]:
    """The ``/wx/`` session ({"openid", "csrf"}), empty when none."""
    data = _read(request, COOKIE, MAX_AGE)
    return data if isinstance(data.get("openid"), str) else {}


def openid_or_login(request: web.Request) -> tuple[str, str]:
    """(openid, csrf token) of the resident, else a redirect through WeChat's OAuth."""
    data = session(request)
    if not data:
        target = request.path_qs if request.method == "GET" else "/wx/"
        raise web.HTTPSeeOther(f"/wx/login?next={quote(target)}")
    return str(data["openid"]), str(data.get("csrf", ""))


def check_csrf(form_token: str, token: str) -> None:
    if not token or not hmac.compare_digest(form_token.encode(), token.encode()):
        raise Forbidden("页面已过期，请返回后刷新重试。")


def _redirect(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location})


def _safe_next(raw: str) -> str:
    return raw if raw.startswith("/wx/") and "//" not in raw and "\\" not in raw else "/wx/"


async def login(request: web.Request) -> web.StreamResponse:
    """Start OAuth: a fresh state in a cookie, then WeChat's authorize page."""
    settings = request.app[SETTINGS]
    try:
        account(request.app[RESOURCES].channels)
    except UserError as exc:  # a page that says so (no account: nothing to sign in with)
        return web.Response(text=exc.message, content_type="text/plain")
    state = secrets.token_urlsafe(16)
    redirect = f"{settings.public_url.rstrip('/')}/wx/oauth"
    resp = _redirect(authorize_url(settings, redirect=redirect, state=state))
    nxt = _safe_next(request.query.get("next", "/wx/"))
    _write(request, resp, STATE_COOKIE, {"state": state, "next": nxt}, STATE_AGE)
    return resp


async def oauth(request: web.Request) -> web.StreamResponse:
    """WeChat's redirect back: check the state, learn the openid, start the session."""
    kept = _read(request, STATE_COOKIE, STATE_AGE)
    state, code = request.query.get("state", ""), request.query.get("code", "")
    if not state and not code:  # opened by hand, not sent back by WeChat: start over
        return _redirect("/wx/login")
    if not kept or not hmac.compare_digest(str(kept.get("state", "")).encode(), state.encode()):
        async with transaction(request.app[RESOURCES].db) as db:
            record(db, actor="wx:unknown", action="wx.oauth_state", target="wx.oauth",
                   detail={"address": _address(request)})  # fmt: skip
        raise Forbidden("登录校验失败（链接无效或已过期），请从公众号菜单重新打开。")
    if not code or len(code) > 128:
        raise UserError("微信未返回授权码，请从公众号菜单重新打开。")
    resources = request.app[RESOURCES]
    try:
        openid = await oauth_openid(resources.http, request.app[SETTINGS].wechat, code)
    except ChannelError as exc:
        raise Forbidden(f"微信授权失败（{exc.code}），请从公众号菜单重新打开。") from exc
    async with transaction(resources.db) as db:
        record(db, actor=actor(openid), action="wx.login", target="wx.oauth")
    resp = _redirect(_safe_next(str(kept.get("next", "/wx/"))))
    _write(request, resp, COOKIE, {"openid": openid, "csrf": secrets.token_urlsafe(16)}, MAX_AGE)
    resp.del_cookie(STATE_COOKIE, path="/wx/")
    return resp


def _address(request: web.Request) -> str:
    return client_address(request, request.app[SETTINGS].trusted_proxies)
