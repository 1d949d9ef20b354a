"""The official account's APIs the residents' side uses, beside sending notices.

Parametric QR codes (``cgi-bin/qrcode/create`` with ``QR_LIMIT_STR_SCENE``, the image
from ``cgi-bin/showqrcode?ticket=`` under the configured base URL), web OAuth
(``snsapi_base``: the browser goes to ``PUSHER_WX__OAUTH_URL`` and comes back with a
code we exchange at ``sns/oauth2/access_token`` for the openid), the menu
(``cgi-bin/menu/create``) and customer-service messages (``cgi-bin/message/custom/send``,
accepted only within 48 hours of the resident's last message: 45015 otherwise).
Calls with the access token go through :meth:`WeChatChannel.call`, which shares the
token with sending.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import aiohttp

from channels.base import Channel, ChannelError, ChannelKind, PermanentError, TransientError
from channels.wechat import WeChatChannel, WeChatSettings, classify
from pusher.errors import UserError
from pusher.settings import Settings, WxSettings

#: the errcode of a customer-service message outside the 48-hour window
OUT_OF_WINDOW = "45015"


class NoAccount(UserError):
    status = 503

    def __init__(self) -> None:
        super().__init__("公众号未配置（PUSHER_WECHAT__APP_ID / APP_SECRET），此功能不可用。")


def account(channels: Mapping[ChannelKind, Channel]) -> WeChatChannel:
    """The configured official account, else a 503 in Chinese."""
    channel = channels.get(ChannelKind.WECHAT)
    if not isinstance(channel, WeChatChannel):
        raise NoAccount
    return channel


async def qr_ticket(channel: WeChatChannel, scene: str) -> str:
    """The ticket of the permanent QR code for ``scene``."""
    body = await channel.call(
        "cgi-bin/qrcode/create",
        {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": scene}}},
    )
    return str(body["ticket"])


async def _get(
    http: aiohttp.ClientSession, url: str, params: Mapping[str, str], seconds: float
) -> aiohttp.ClientResponse:
    try:
        resp = await http.get(url, params=params, timeout=aiohttp.ClientTimeout(total=seconds))
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise TransientError("network", str(exc)) from exc
    if resp.status >= 400:
        resp.release()
        raise TransientError(f"http_{resp.status}", "provider refused the request")
    return resp


async def qr_image(http: aiohttp.ClientSession, settings: WeChatSettings, ticket: str) -> bytes:
    """The QR code's image (JPEG), fetched from the configured base URL."""
    url = settings.url("cgi-bin/showqrcode")
    async with await _get(http, url, {"ticket": ticket}, settings.timeout_seconds) as resp:
        return await resp.read()


def authorize_url(settings: Settings, *, redirect: str, state: str) -> str:
    """Where a resident's browser learns their openid (silently: ``snsapi_base``)."""
    query = urlencode(
        {
            "appid": settings.wechat.app_id,
            "redirect_uri": redirect,
            "response_type": "code",
            "scope": "snsapi_base",
            "state": state,
        }
    )
    return f"{settings.wx.oauth_url}?{query}#wechat_redirect"


async def oauth_openid(http: aiohttp.ClientSession, settings: WeChatSettings, code: str) -> str:
    """Exchange an OAuth ``code`` for the resident's openid."""
    params = {
        "appid": settings.app_id,
        "secret": settings.app_secret.get_secret_value(),
        "code": code,
        "grant_type": "authorization_code",
    }
    url = settings.url("sns/oauth2/access_token")
    async with await _get(http, url, params, settings.timeout_seconds) as resp:
        body = _json(await resp.read())
    openid = body.get("openid")
    if not isinstance(openid, str) or not openid:
        raise classify(str(body.get("errcode", "-1")), str(body.get("errmsg", "")))
    return openid


def _json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise TransientError("bad_response", "answer is not JSON") from exc
    if not isinstance(body, dict):
        raise TransientError("bad_response", "answer is not a JSON object")
    return body


def menu(wx: WxSettings, public_url: str) -> dict[str, Any]:
    """The menu from the settings: each entry a ``view`` button to a page under ``/wx/``."""
    base = public_url.rstrip("/")
    buttons: list[dict[str, Any]] = [
        {"type": "view", "name": name, "url": f"{base}{path}"} for name, path in wx.menu
    ]
    if len(buttons) > 3:  # three buttons at most: the rest under 更多 (five at most)
        buttons = [*buttons[:2], {"name": "更多", "sub_button": buttons[2:7]}]
    return {"button": buttons}


async def set_menu(channel: WeChatChannel, wx: WxSettings, public_url: str) -> dict[str, Any]:
    """Create the account's menu; the menu sent."""
    body = menu(wx, public_url)
    await channel.call("cgi-bin/menu/create", body)
    return body


async def custom_text(channel: WeChatChannel, openid: str, text: str) -> None:
    """A customer-service text message (raises PermanentError 45015 outside the window)."""
    payload = {"touser": openid, "msgtype": "text", "text": {"content": text}}
    await channel.call("cgi-bin/message/custom/send", payload)


def out_of_window(exc: ChannelError) -> bool:
    """True when WeChat refused a customer-service message for the 48-hour rule."""
    return isinstance(exc, PermanentError) and exc.code == OUT_OF_WINDOW
