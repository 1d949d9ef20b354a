"""Emulators post receipts back as the providers do: a post not answered in time is sent
again (the providers retry), never dropped with the task's error unread."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web

from channels.emulators.common import Callbacks
from tests.conftest import Serve


async def test_a_receipt_post_answered_late_is_sent_again(serve: Serve) -> None:
    calls: list[float] = []

    async def slow_then_quick(request: web.Request) -> web.Response:
        calls.append(asyncio.get_running_loop().time())
        if len(calls) == 1:
            await asyncio.sleep(1.0)  # past the poster's timeout
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/report", slow_then_quick)
    base = await serve(app)
    timeout = aiohttp.ClientTimeout(total=0.2)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        callbacks = Callbacks(tries=3, session=session)
        await callbacks.post_json(f"{base}report", [{"biz_id": "1"}])
    assert len(calls) == 2
