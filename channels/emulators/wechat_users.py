"""The follower's side of the WeChat emulator: QR codes, web OAuth, the menu,
customer-service messages, and events a follower causes (posted to the callback).

* ``POST cgi-bin/qrcode/create`` (``QR_LIMIT_STR_SCENE``: a ``scene_str`` of 1–64
  characters; 40053 otherwise) answers a ticket; ``GET cgi-bin/showqrcode?ticket=`` the
  image (a tiny JPEG-typed PNG here; the real one is a JPEG).
* ``GET connect/oauth2/authorize`` is the page a resident's browser lands on: with
  ``as=OPENID`` (the tester's choice of who is "on the phone") it redirects back to
  ``redirect_uri`` with a one-use ``code`` (5 minutes) and the ``state`` unchanged;
  without, it lists the followers to choose from. ``GET sns/oauth2/access_token``
  exchanges the code (40029 unknown or expired, 40163 used, 40013/40125 bad app).
* ``POST cgi-bin/menu/create``: at most 3 buttons of at most 5 sub-buttons (40018 …).
* ``POST cgi-bin/message/custom/send``: only within 48 hours of the follower's last
  message, follow or scan (45015), at most 5 per such message (45047); kept in
  the inbox and in ``custom``.
* ``POST /emulator/event`` (test hook) ``{"openid", "kind": subscribe|scan|unsubscribe|
  text|voice|consent, "scene"?, "content"?}``: posts the signed XML the real server
  would and answers our callback's status and body (the passive reply).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

if TYPE_CHECKING:
    from channels.emulators.wechat import WeChatEmulatorState

WINDOW_SECONDS = 48 * 3600
WINDOW_MESSAGES = 5
CODE_SECONDS = 300
#: a 1×1 PNG: the real endpoint answers a JPEG of the QR code
IMAGE = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e5270de40000000049454e44ae426082"
)


@dataclass
class Followers:
    """What the follower-facing APIs keep (under the emulator's state, ``users``)."""

    tickets: dict[str, str] = field(default_factory=dict)
    codes: dict[str, tuple[str, float, bool]] = field(default_factory=dict)
    menus: list[dict[str, Any]] = field(default_factory=list)
    #: openid → (time of their last message/follow/scan, customer messages since)
    window: dict[str, tuple[float, int]] = field(default_factory=dict)
    custom: list[tuple[str, str]] = field(default_factory=list)
    #: followers who accepted the account's subscription notices in the popup (long-term)
    consents: set[str] = field(default_factory=set)


def _err(code: int, msg: str) -> web.Response:
    return web.json_response({"errcode": code, "errmsg": f"{msg} rid: {secrets.token_hex(4)}"})


def _state(request: web.Request) -> WeChatEmulatorState:
    from channels.emulators.wechat import STATE

    return request.app[STATE]


async def _body(request: web.Request) -> tuple[dict[str, Any] | None, web.Response | None]:
    from channels.emulators.wechat import _read_json, _token_error

    state = _state(request)
    state.calls[request.path] += 1
    error = _token_error(state, request.query.get("access_token", ""))
    if error is not None:
        return None, error
    body = await _read_json(request)
    return (body, None) if body is not None else (None, _err(47001, "data format error"))


async def qr_create(request: web.Request) -> web.Response:
    body, error = await _body(request)
    if body is None:
        return error or _err(47001, "data format error")
    scene = ((body.get("action_info") or {}).get("scene") or {}).get("scene_str")
    if body.get("action_name") != "QR_LIMIT_STR_SCENE" or not isinstance(scene, str):
        return _err(40053, "invalid action info")
    if not 1 <= len(scene) <= 64:
        return _err(40053, "invalid action info")
    ticket = secrets.token_urlsafe(24)
    _state(request).users.tickets[ticket] = scene
    return web.json_response({"ticket": ticket, "url": f"http://weixin.qq.com/q/{ticket[:12]}"})


async def qr_show(request: web.Request) -> web.Response:
    if request.query.get("ticket", "") not in _state(request).users.tickets:
        raise web.HTTPNotFound()
    return web.Response(body=IMAGE, content_type="image/jpg")


async def authorize(request: web.Request) -> web.Response:
    state, query = _state(request), request.query
    if query.get("appid") != state.app_id or query.get("scope") not in (
        "snsapi_base",
        "snsapi_userinfo",
    ):
        return web.Response(
            status=400, text="10003 redirect_uri 或 appid 参数错误", content_type="text/plain"
        )
    redirect = query.get("redirect_uri", "")
    chosen = query.get("as")
    if not chosen:
        # who may be on the phone: the account's followers, else everyone seen so far
        seen = set(state.inbox.messages) | set(state.users.window)
        followers = sorted(state.account.followers or seen)
        links = "".join(
            f'<li><a href="?{escape(urlencode({**query, "as": o}))}">{escape(o)}</a></li>'
            for o in followers
        )
        return web.Response(text=f"<ul>{links}</ul>", content_type="text/html")
    code = secrets.token_urlsafe(16)
    state.users.codes[code] = (chosen, time.time() + CODE_SECONDS, False)
    back_query = urlencode({"code": code, "state": query.get("state", "")})
    back = f"{redirect}{'&' if '?' in redirect else '?'}{back_query}"
    raise web.HTTPFound(back)


async def oauth_token(request: web.Request) -> web.Response:
    state, query = _state(request), request.query
    if query.get("appid") != state.app_id:
        return _err(40013, "invalid appid")
    if query.get("secret") != state.app_secret:
        return _err(40125, "invalid appsecret")
    found = state.users.codes.get(query.get("code", ""))
    if query.get("grant_type") != "authorization_code" or found is None or found[1] < time.time():
        return _err(40029, "invalid code")
    openid, expires, used = found
    if used:
        return _err(40163, "code been used")
    state.users.codes[query["code"]] = (openid, expires, True)
    token = secrets.token_urlsafe(32)
    return web.json_response(
        {
            "access_token": token,
            "expires_in": 7200,
            "refresh_token": token[::-1],
            "openid": openid,
            "scope": "snsapi_base",
        }
    )


def _menu_error(body: dict[str, Any]) -> web.Response | None:
    buttons = body.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        return _err(40017, "invalid button size")
    for button in buttons:
        subs = button.get("sub_button") if isinstance(button, dict) else None
        if not isinstance(button, dict) or not button.get("name"):
            return _err(40018, "invalid button name size")
        if subs is not None and (not isinstance(subs, list) or not 1 <= len(subs) <= 5):
            return _err(40023, "invalid sub button size")
        for leaf in subs or [button]:
            if leaf.get("type") == "view" and not str(leaf.get("url", "")).startswith("http"):
                return _err(40055, "invalid button url domain")
    return None


async def menu_create(request: web.Request) -> web.Response:
    body, error = await _body(request)
    if body is None:
        return error or _err(47001, "data format error")
    refused = _menu_error(body)
    if refused is not None:
        return refused
    _state(request).users.menus.append(body)
    return web.json_response({"errcode": 0, "errmsg": "ok"})


async def custom_send(request: web.Request) -> web.Response:
    body, error = await _body(request)
    if body is None:
        return error or _err(47001, "data format error")
    state = _state(request)
    openid = body.get("touser")
    content = (body.get("text") or {}).get("content") if body.get("msgtype") == "text" else None
    if not isinstance(openid, str) or not isinstance(content, str) or not content:
        return _err(40003 if not isinstance(openid, str) else 47001, "invalid openid or data")
    since, count = state.users.window.get(openid, (0.0, 0))
    if time.time() - since > WINDOW_SECONDS:
        return _err(45015, "response out of time limit or subscription is canceled")
    if count >= WINDOW_MESSAGES:
        return _err(45047, "out of response count limit")
    state.users.window[openid] = (since, count + 1)
    state.users.custom.append((openid, content))
    state.inbox.add(openid, content)
    return web.json_response({"errcode": 0, "errmsg": "ok"})


def event_xml(
    state: WeChatEmulatorState, openid: str, kind: str, *, scene: str = "", content: str = ""
) -> str:
    """The XML WeChat posts when a follower does ``kind``."""
    head = (
        f"<xml><ToUserName><![CDATA[gh_{state.app_id}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{int(time.time())}</CreateTime>"
    )
    if kind in ("text", "voice"):
        field_name = "Content" if kind == "text" else "Recognition"
        extra = (
            ""
            if kind == "text"
            else "<MediaId><![CDATA[m1]]></MediaId><Format><![CDATA[amr]]></Format>"
        )
        msgid = next(state.msgids)
        return (f"{head}<MsgType><![CDATA[{kind}]]></MsgType><{field_name}><![CDATA[{content}]]>"
                f"</{field_name}>{extra}<MsgId>{msgid}</MsgId></xml>")  # fmt: skip
    if kind == "consent":
        return (f"{head}<MsgType><![CDATA[event]]></MsgType>"
                "<Event><![CDATA[subscribe_msg_popup_event]]></Event><SubscribeMsgPopupEvent><List><TemplateId><![CDATA[TPL]]></TemplateId>"
                f"<SubscribeStatusString><![CDATA[{content or 'accept'}]]></SubscribeStatusString>"
                "<PopupScene>2</PopupScene></List></SubscribeMsgPopupEvent></xml>")  # fmt: skip
    event = {"subscribe": "subscribe", "scan": "SCAN", "unsubscribe": "unsubscribe"}[kind]
    key = f"qrscene_{scene}" if kind == "subscribe" and scene else scene
    keyed = f"<EventKey><![CDATA[{key}]]></EventKey><Ticket><![CDATA[t]]></Ticket>" if key else ""
    return (
        f"{head}<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>{keyed}</xml>"
    )


KINDS = ("subscribe", "scan", "unsubscribe", "text", "voice", "consent")


def _note_consent(users: Followers, openid: str, kind: str, content: str) -> None:
    """A popup accept records the consent; a reject or an unfollow takes it back."""
    if kind == "consent" and (content or "accept") == "accept":
        users.consents.add(openid)
    elif kind in ("consent", "unsubscribe"):
        users.consents.discard(openid)


async def user_event(request: web.Request) -> web.Response:
    """Test hook: a follower does something; the callback's answer is returned."""
    from channels.emulators.wechat import sign

    state = _state(request)
    data = await request.json()
    openid, kind = str(data.get("openid", "")), str(data.get("kind", ""))
    if not openid or kind not in KINDS or not state.callback_url or state.http is None:
        return web.json_response(
            {"error": "openid, kind and a callback URL are needed"}, status=400
        )
    if kind != "unsubscribe":
        state.users.window[openid] = (time.time(), 0)
    _note_consent(state.users, openid, kind, str(data.get("content", "")))
    xml = event_xml(
        state, openid, kind, scene=str(data.get("scene", "")), content=str(data.get("content", ""))
    )
    timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
    signature = sign(state.callback_token, timestamp, nonce)
    query = {"signature": signature, "timestamp": timestamp, "nonce": nonce, "openid": openid}
    async with state.http.post(state.callback_url, params=query, data=xml.encode()) as resp:
        return web.json_response({"status": resp.status, "body": await resp.text()})


def add_routes(app: web.Application) -> None:
    """The follower-facing routes, beside the emulator's sending ones."""
    r = app.router
    r.add_post("/cgi-bin/qrcode/create", qr_create)
    r.add_get("/cgi-bin/showqrcode", qr_show)
    r.add_get("/connect/oauth2/authorize", authorize)
    r.add_get("/sns/oauth2/access_token", oauth_token)
    r.add_post("/cgi-bin/menu/create", menu_create)
    r.add_post("/cgi-bin/message/custom/send", custom_send)
    r.add_post("/emulator/event", user_event)
