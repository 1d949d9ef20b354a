"""Provider callbacks under ``/callbacks/``: delivery receipts, replies and follow events.

WeChat callbacks are authenticated by their signature; the SMS providers sign
nothing, so their URLs carry a secret path segment (``PUSHER_CALLBACK_SECRET``)
compared in constant time. A malformed body gets a 400 with a message; a valid
one is applied (together with those of concurrent requests, see
:mod:`pusher.web.receipt_batch`) and then answered the way the provider expects.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable

from aiohttp import web

from channels import aliyun_sms, tencent_sms, wechat
from channels.base import CallbackBatch, ChannelError, ChannelKind
from pusher.web.keys import RECEIPTS, RESOURCES, SETTINGS

log = logging.getLogger(__name__)
Parser = Callable[[bytes], CallbackBatch]


async def wechat_handshake(request: web.Request) -> web.Response:
    try:
        echostr = wechat.verify_handshake(request.query, request.app[SETTINGS].wechat)
    except ChannelError as exc:
        return web.Response(status=403, text=f"签名校验失败：{exc.code}")
    return web.Response(text=echostr)


async def wechat_event(request: web.Request) -> web.Response:
    body = await request.read()
    settings = request.app[SETTINGS].wechat
    try:
        batch = wechat.parse_callback(body, query=request.query, settings=settings)
    except ChannelError as exc:
        status = 403 if exc.code == "invalid_signature" else 400
        return web.Response(status=status, text=f"回调无效：{exc.code}")
    return await _apply(request, "wechat", ChannelKind.WECHAT, batch)


def sms_callback(provider: str, kind: str) -> Callable[[web.Request], object]:
    """A handler for one SMS provider's report (``kind="report"``) or reply (``"up"``) push."""
    module = aliyun_sms if provider == "aliyun" else tencent_sms

    async def handler(request: web.Request) -> web.Response:
        secret = request.app[SETTINGS].callback_secret.get_secret_value()
        if not hmac.compare_digest(request.match_info["secret"], secret):
            return web.json_response({"error": "地址无效"}, status=404)
        try:
            batch = module.parse_callback(await request.read(), kind=kind)
        except ValueError as exc:
            return web.json_response({"error": f"回执格式有误：{exc}"}, status=400)
        return await _apply(request, provider, ChannelKind.SMS, batch)

    return handler


async def _apply(
    request: web.Request, provider: str, kind: ChannelKind, batch: CallbackBatch
) -> web.Response:
    resources = request.app[RESOURCES]
    resources.metrics.count_receipts(provider, len(batch.receipts))
    await request.app[RECEIPTS].apply(provider, kind, batch)
    log.info(
        "callback applied",
        extra={
            "provider": provider,
            "receipts": len(batch.receipts),
            "opt_outs": len(batch.opt_outs),
            "follows": len(batch.follows),
        },
    )
    return web.Response(body=batch.reply, content_type=batch.content_type.split(";")[0])


def setup_callbacks(app: web.Application) -> None:
    r = app.router
    r.add_get("/callbacks/wechat", wechat_handshake)
    r.add_post("/callbacks/wechat", wechat_event)
    for provider in ("aliyun", "tencent"):
        r.add_post(f"/callbacks/{provider}/report/{{secret}}", sms_callback(provider, "report"))
        r.add_post(f"/callbacks/{provider}/reply/{{secret}}", sms_callback(provider, "up"))
