"""How to send WeChat template messages without blocking the event loop.

Compares, against the local emulator (served from its own thread and loop so
that only the client side is measured):

* ``aiohttp``: :class:`channels.wechat.WeChatChannel` (HTTP on the loop);
* ``wechatpy-threads``: wechatpy's synchronous client in a bounded thread pool;
* ``wechatpy-blocking``: wechatpy's client called straight from a coroutine
  (what happens if nobody thinks about it).

Each row gives messages per second and the event loop's lag (how late a 5 ms
timer fires) while sending, once with the emulator answering at loopback speed
and once with 50 ms added to every answer, about a real round trip.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import SecretStr
from wechatpy import WeChatClient

from channels.base import Message
from channels.emulators.common import Faults
from channels.emulators.wechat import build_app
from channels.wechat import WeChatChannel, WeChatSettings, fetch_token
from channels.wechat_token import MemoryTokenStore

APP_ID, SECRET, CONCURRENCY, BATCH = "wx-emulator", "emulator-secret", 8, 50


@contextmanager
def emulator_thread(latency: float) -> Iterator[str]:
    """Serve the emulator on 127.0.0.1 from a thread of its own; yields its base URL.

    ``latency`` delays every answer, standing in for the round trip to the provider.
    """
    loop = asyncio.new_event_loop()
    ready: list[str] = []
    started, stop = threading.Event(), asyncio.Event()

    async def serve() -> None:
        runner = web.AppRunner(
            build_app(app_id=APP_ID, app_secret=SECRET, faults=Faults(slow_seconds=latency))
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        ready.append(f"http://127.0.0.1:{port}/")
        started.set()
        await stop.wait()
        await runner.cleanup()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield ready[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


def _messages(n: int, tag: str) -> list[Message]:
    return [
        Message(f"{tag}-{i}", f"o{tag}{i:05d}", "通知", params={"thing1": "低保复核公示"})
        for i in range(n)
    ]


async def _measure(name: str, n: int, work: Callable[[], Awaitable[None]]) -> dict[str, object]:
    lags: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append((time.perf_counter() - before - 0.005) * 1000)

    tick = asyncio.create_task(ticker())
    start = time.perf_counter()
    await work()
    elapsed = time.perf_counter() - start
    done.set()
    await tick
    lags.sort()
    return {
        "approach": name,
        "messages": n,
        "seconds": round(elapsed, 3),
        "messages_per_s": round(n / elapsed, 1),
        "loop_lag_ms_median": round(statistics.median(lags), 2) if lags else None,
        "loop_lag_ms_p99": round(lags[int(len(lags) * 0.99)], 2) if lags else None,
        "loop_lag_ms_max": round(lags[-1], 2) if lags else None,
        "timer_ticks": len(lags),
    }


def _payload(m: Message) -> dict[str, Any]:
    data = {k: {"value": v} for k, v in m.params.items()}
    return {"touser": m.recipient, "template_id": "tpl", "data": data, "client_msg_id": m.key}


def _settings(base: str) -> WeChatSettings:
    return WeChatSettings(
        app_id=APP_ID,
        app_secret=SecretStr(SECRET),
        base_url=base,
        template_id="tpl",
        max_concurrency=CONCURRENCY,
    )


async def _aiohttp(settings: WeChatSettings, n: int) -> None:
    msgs = _messages(n, "a")
    async with aiohttp.ClientSession() as session:
        channel = WeChatChannel(settings, session=session, tokens=MemoryTokenStore())
        for i in range(0, n, BATCH):
            await channel.send(msgs[i : i + BATCH])


async def _wechatpy_client(settings: WeChatSettings) -> WeChatClient:
    async with aiohttp.ClientSession() as session:
        token, _ = await fetch_token(session, settings)
    client = WeChatClient(APP_ID, SECRET, access_token=token)
    client.API_BASE_URL = f"{settings.base_url}cgi-bin/"
    return client


async def _run(n: int, n_blocking: int, latency: float) -> list[dict[str, object]]:
    with emulator_thread(latency) as base:
        settings = _settings(base)
        client = await _wechatpy_client(settings)
        rows = [
            await _measure("aiohttp", n, partial(_aiohttp, settings, n)),
            await _measure("wechatpy-threads", n, partial(_threads, client, n)),
            await _measure("wechatpy-blocking", n_blocking, partial(_blocking, client, n_blocking)),
        ]
    for row in rows:
        row["provider_latency_ms"] = int(latency * 1000)
    return rows


async def _threads(client: WeChatClient, n: int) -> None:
    loop = asyncio.get_running_loop()
    msgs = _messages(n, "t")
    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        for i in range(0, n, BATCH):
            calls = [
                loop.run_in_executor(
                    pool, partial(client.post, "message/template/send", data=_payload(m))
                )
                for m in msgs[i : i + BATCH]
            ]
            await asyncio.gather(*calls)


async def _blocking(client: WeChatClient, n: int) -> None:
    for m in _messages(n, "b"):
        client.post("message/template/send", data=_payload(m))
        await asyncio.sleep(0)


def run(*, quick: bool, smoke: bool = False) -> list[dict[str, object]]:
    """Rows of figures (messages/s, loop lag) for each approach."""
    n, n_blocking = (50, 10) if smoke else (200, 40) if quick else (2000, 200)
    rows = []
    for latency in (0.0, 0.05):
        rows += asyncio.run(_run(n, n_blocking, latency))
    return rows


if __name__ == "__main__":
    for row in run(quick=False):
        print(row)
