"""Provider callbacks under ``/callbacks/``: delivery receipts, replies and follow events.

WeChat callbacks are authenticated by their signature, and only when a token is
configured (without one anybody could sign: the route answers 404). The signature
covers the timestamp and nonce, not the body, so a callback whose timestamp is
outside ``PUSHER_CALLBACK_MAX_AGE_SECONDS`` or whose (timestamp, nonce) was seen
before is refused (:mod:`pusher.web.nonces`); in safe mode (an EncodingAESKey set)
only encrypted bodies, whose ``msg_signature`` covers them, are accepted. The SMS
providers sign nothing, so their URLs carry a secret path segment
(``PUSHER_CALLBACK_SECRET``) compared in constant time and masked in every log.
A malformed body gets a 400 with a message; a valid one is applied (together with
those of concurrent requests, see :mod:`pusher.web.receipt_batch`) and then answered
the way the provider expects.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

from aiohttp import web

from channels import wechat
from channels.base import CallbackBatch, ChannelError, ChannelKind
from channels.descriptor import Callback, Provider
from channels.registry import PROVIDERS
from pusher.db import transaction
from pusher.residents import inbound, replies
from pusher.staff.notify import nudge
from pusher.web.keys import NONCES, RECEIPTS, RESOURCES, SETTINGS
from pusher.web.nonces import DatabaseNonces, NonceStore, RedisNonces, nonce_key

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _wechat_refusal(request: web.Request) -> web.Response | None:
    """Why a WeChat callback is refused before its signature is read, or None."""
    settings = request.app[SETTINGS]
    if not settings.wechat.token.get_secret_value():
        return web.Response(status=404, text="未配置公众号回调（PUSHER_WECHAT__TOKEN）")
    if not fresh(request.query, max_age=settings.callback_max_age_seconds, now=time.time()):
        return web.Response(status=403, text="回调时间戳无效或已过期")
    return None


def fresh(query: Mapping[str, str], *, max_age: int, now: float) -> bool:
    """Whether the callback's ``timestamp`` is ASCII digits within ``max_age`` s of now."""
    stamp = query.get("timestamp", "")
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        return False
    return abs(int(stamp) - now) <= max_age


async def wechat_handshake(request: web.Request) -> web.Response:
    refused = _wechat_refusal(request)
    if refused is not None:
        return refused
    try:
        echostr = wechat.verify_handshake(request.query, request.app[SETTINGS].wechat)
    except ChannelError as exc:
        return web.Response(status=403, text=f"签名校验失败：{exc.code}")
    return web.Response(text=echostr)


async def wechat_event(request: web.Request) -> web.Response:
    refused = _wechat_refusal(request)
    if refused is not None:
        return refused
    body = await request.read()
    settings = request.app[SETTINGS].wechat
    try:
        batch = wechat.parse_callback(body, query=request.query, settings=settings)
    except ChannelError as exc:
        status = 403 if exc.code == "invalid_signature" else 400
        return web.Response(status=status, text=f"回调无效：{exc.code}")
    key = nonce_key("wechat", request.query["timestamp"], request.query.get("nonce", ""))
    nonces = request.app[NONCES]
    if not await nonces.claim(key):
        log.warning("wechat callback replayed: refused")
        return web.Response(status=403, text="重复的回调（时间戳与随机数已使用过）")
    try:
        response = await _apply(request, "wechat", ChannelKind.WECHAT, batch)
        return await _answer_inbound(request, batch) if batch.inbound else response
    except BaseException:
        await nonces.release(key)  # not applied: WeChat's own retry must still pass
        raise


async def _answer_inbound(request: web.Request, batch: CallbackBatch) -> web.Response:
    """Follows through QR codes, messages and consents: the passive reply (see residents)."""
    settings = request.app[SETTINGS]
    async with transaction(request.app[RESOURCES].db) as session:
        texts = [await inbound.answer(session, event, settings) for event in batch.inbound]
    if any(event.kind in ("text", "voice") for event in batch.inbound):
        await nudge(request.app[RESOURCES].queue)  # an urgent message: its grid worker
    text = next((t for t in texts if t), None)
    if text is None:
        return web.Response(text="success")
    reply = wechat.passive_reply(
        batch.inbound[0], text, query=request.query, settings=settings.wechat
    )
    return web.Response(body=reply, content_type="application/xml")


def secret_callback(provider: Provider, callback: Callback) -> Handler:
    """A handler for one unsigned callback of ``provider`` (an SMS report or reply push)."""
    kind = provider.kind or ChannelKind.SMS

    async def handler(request: web.Request) -> web.Response:
        secret = request.app[SETTINGS].callback_secret.get_secret_value()
        if not hmac.compare_digest(request.match_info["secret"], secret):
            return web.json_response({"error": "地址无效"}, status=404)
        try:
            batch = callback.parse(await request.read())
        except (ValueError, ChannelError) as exc:
            return web.json_response({"error": f"回执格式有误：{exc}"}, status=400)
        response = await _apply(request, provider.name, kind, batch)
        if batch.inbound:
            await _take_replies(request, batch)
        return response

    return handler


async def _take_replies(request: web.Request, batch: CallbackBatch) -> None:
    """SMS replies that are not opt-outs: resumptions and messages (see residents)."""
    settings, resources = request.app[SETTINGS], request.app[RESOURCES]
    async with transaction(resources.db) as session:
        answers = [(r.sender, await replies.apply_sms(session, r, settings)) for r in batch.inbound]
    await nudge(resources.queue)  # an urgent message: its grid worker
    for phone, text in answers:
        if text:
            await replies.confirm(resources.channels.get(ChannelKind.SMS), phone, text)


async def _apply(
    request: web.Request, provider: str, kind: ChannelKind, batch: CallbackBatch
) -> web.Response:
    resources = request.app[RESOURCES]
    resources.metrics.count_receipts(provider, len(batch.receipts))
    await request.app[RECEIPTS].apply(provider, kind, batch)  # logs once per transaction
    return web.Response(body=batch.reply, content_type=batch.content_type.split(";")[0])


async def _nonces_ctx(app: web.Application) -> AsyncIterator[None]:
    """Redis keeps callback nonces where there is one; else the database."""
    resources, settings = app[RESOURCES], app[SETTINGS]
    ttl = 2 * settings.callback_max_age_seconds
    store: NonceStore
    if resources.redis is not None:
        prefix = f"{settings.queue_name}:nonce:"
        fallback = DatabaseNonces(resources.db, ttl_seconds=ttl)  # while Redis is down
        store = RedisNonces(resources.redis, ttl_seconds=ttl, prefix=prefix, fallback=fallback)
    else:
        store = DatabaseNonces(resources.db, ttl_seconds=ttl)
    app[NONCES] = store
    yield


def callback_routes() -> list[tuple[str, str, Handler]]:
    """Every callback route the registry's providers declare: (method, path, handler).

    A provider that signs its callbacks (WeChat) gets ``/callbacks/<name>``; the
    others one ``/callbacks/<name>/<path>/{secret}`` per callback. Nothing else is
    routed, so an unknown provider's callback is a 404.
    """
    routes: list[tuple[str, str, Handler]] = []
    for provider in PROVIDERS:
        if provider.signed_callback:
            routes.append(("GET", f"/callbacks/{provider.name}", wechat_handshake))
            routes.append(("POST", f"/callbacks/{provider.name}", wechat_event))
        for cb in provider.callbacks:
            path = f"/callbacks/{provider.name}/{cb.path}/{{secret}}"
            routes.append(("POST", path, secret_callback(provider, cb)))
    return routes


def setup_callbacks(app: web.Application) -> None:
    app.cleanup_ctx.append(_nonces_ctx)
    for method, path, handler in callback_routes():
        app.router.add_route(method, path, handler)
