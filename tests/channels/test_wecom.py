"""The WeCom group-robot channel against its local emulator."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from channels.base import Accepted, Message, PermanentError, Rejected, TransientError
from channels.emulators.common import Faults
from channels.emulators.wecom import WECOM_EMULATOR, WeComEmulator, build_app
from channels.ratelimit import MemoryRateLimiter, RedisRateLimiter
from channels.wecom import WeComRobotChannel, WeComSettings, key_hash

KEY_A = "693a91f6-7aaa-4bc4-97a0-0ec2a1fa5aaa"
KEY_B = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"

Start = Callable[..., Awaitable[tuple[WeComEmulator, str]]]


@pytest.fixture
async def start() -> AsyncIterator[Start]:
    """Start a WeCom emulator; returns its state and base URL."""
    servers: list[TestServer] = []

    async def run(**options: Any) -> tuple[WeComEmulator, str]:
        app: web.Application = build_app(**options)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return app[WECOM_EMULATOR], str(server.make_url("/"))

    yield run
    for server in servers:
        await server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def channel(base_url: str, session: aiohttp.ClientSession, **options: Any) -> WeComRobotChannel:
    settings = WeComSettings(base_url=base_url, **options)
    return WeComRobotChannel(settings, session=session, limiter=MemoryRateLimiter())


def error_of(outcome: Accepted | Rejected) -> Exception:
    assert isinstance(outcome, Rejected), outcome
    return outcome.error


@pytest.mark.parametrize("msgtype", ["markdown", "text"])
async def test_sends_to_two_robots_in_order(
    start: Start, session: aiohttp.ClientSession, msgtype: str
) -> None:
    emulator, url = await start(keys={KEY_A, KEY_B})
    messages = [
        Message("d1", KEY_A, "**停水通知**：明日8时至12时停水"),
        Message("d2", KEY_B, "低保年审请于本月底前办理"),
        Message("d3", KEY_A, "秋季征兵报名开始"),
    ]
    outcomes = await channel(url, session, msgtype=msgtype).send(messages)
    assert outcomes == [
        Accepted("d1", f"{key_hash(KEY_A)}:d1"),
        Accepted("d2", f"{key_hash(KEY_B)}:d2"),
        Accepted("d3", f"{key_hash(KEY_A)}:d3"),
    ]
    assert emulator.inbox.messages[KEY_A] == [messages[0].text, messages[2].text]
    assert emulator.inbox.messages[KEY_B] == [messages[1].text]


async def test_accepts_the_webhook_url_as_recipient(
    start: Start, session: aiohttp.ClientSession
) -> None:
    emulator, url = await start(keys={KEY_A})
    webhook = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY_A}"
    [outcome] = await channel(url, session).send([Message("d1", webhook, "通知")])
    assert isinstance(outcome, Accepted)
    assert emulator.inbox.messages[KEY_A] == ["通知"]


@pytest.mark.parametrize(("msgtype", "limit"), [("markdown", 4096), ("text", 2048)])
async def test_over_long_content_is_refused_without_a_call(
    start: Start, session: aiohttp.ClientSession, msgtype: str, limit: int
) -> None:
    emulator, url = await start(keys={KEY_A})
    fits = "通" * (limit // 3) + "a" * (limit % 3)  # exactly the limit in UTF-8
    too_long = fits + "a"
    sender = channel(url, session, msgtype=msgtype)
    assert sender.limits.max_bytes == limit
    outcomes = await sender.send([Message("d1", KEY_A, too_long), Message("d2", KEY_A, fits)])
    error = error_of(outcomes[0])
    assert isinstance(error, PermanentError)
    assert error.code == "content_too_long"
    assert isinstance(outcomes[1], Accepted)
    assert emulator.inbox.messages[KEY_A] == [fits]
    assert not emulator.errors


async def test_unknown_key_is_permanent_93000_and_does_not_block_others(
    start: Start, session: aiohttp.ClientSession
) -> None:
    _, url = await start(keys={KEY_A})
    outcomes = await channel(url, session).send(
        [Message("d1", KEY_B, "通知"), Message("d2", KEY_A, "通知")]
    )
    error = error_of(outcomes[0])
    assert isinstance(error, PermanentError)
    assert error.code == "93000"
    assert isinstance(outcomes[1], Accepted)


async def test_server_errors_are_transient(start: Start, session: aiohttp.ClientSession) -> None:
    emulator, url = await start(faults=Faults(server_error=1.0))
    [outcome] = await channel(url, session).send([Message("d1", KEY_A, "通知")])
    error = error_of(outcome)
    assert isinstance(error, TransientError)
    assert error.code == "http_500"
    assert emulator.inbox.total() == 0


async def test_timeouts_are_transient(start: Start, session: aiohttp.ClientSession) -> None:
    _, url = await start(faults=Faults(timeout=1.0, timeout_seconds=1.0))
    [outcome] = await channel(url, session, timeout_seconds=0.2).send([Message("d1", KEY_A, "x")])
    error = error_of(outcome)
    assert isinstance(error, TransientError)
    assert error.code == "timeout"


async def test_provider_throttling_is_transient_45009(
    start: Start, session: aiohttp.ClientSession
) -> None:
    # Our limiter allows 10 per window, the robot only 3: the robot's own limit answers.
    emulator, url = await start(per_minute=3)
    sender = channel(url, session, rate=10)
    outcomes = await sender.send([Message(f"d{i}", KEY_A, f"第{i}条") for i in range(5)])
    assert [type(outcome) for outcome in outcomes] == [Accepted] * 3 + [Rejected] * 2
    error = error_of(outcomes[3])
    assert isinstance(error, TransientError)
    assert error.code == "45009"
    assert emulator.errors[45009] == 2


async def test_a_long_rate_wait_is_refused_as_transient(
    start: Start, session: aiohttp.ClientSession
) -> None:
    emulator, url = await start()
    sender = channel(url, session, rate=2, window_seconds=30, max_rate_wait_seconds=1)
    outcomes = await asyncio.wait_for(
        sender.send([Message(f"d{i}", KEY_A, f"第{i}条") for i in range(3)]), timeout=5
    )
    error = error_of(outcomes[2])
    assert isinstance(error, TransientError)
    assert error.code == "rate_limited"
    assert emulator.inbox.total() == 2


async def test_webhook_keys_stay_out_of_logs(
    start: Start, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    _, url = await start(keys={KEY_A})
    caplog.set_level(logging.DEBUG, logger="channels")
    await channel(url, session).send([Message("d1", KEY_B, "通知")])
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("channels"))
    assert key_hash(KEY_B) in ours
    assert KEY_B not in ours


async def test_two_workers_sharing_redis_never_trip_the_robot_limit(
    start: Start, session: aiohttp.ClientSession
) -> None:
    window = 2.0
    emulator, url = await start(keys={KEY_A}, per_minute=20, window_seconds=window)
    settings = WeComSettings(
        base_url=url, window_seconds=window, window_margin_seconds=0.2, max_rate_wait_seconds=30
    )
    prefix = f"test:wecom:{uuid.uuid4().hex}:"
    redises = [Redis(host="127.0.0.1", port=6379) for _ in range(2)]
    try:
        workers = [
            WeComRobotChannel(settings, session=session, limiter=RedisRateLimiter(r, prefix=prefix))
            for r in redises
        ]
        batches = [
            [Message(f"w{w}-{i}", KEY_A, f"worker {w} 第{i}条") for i in range(25)]
            for w in range(2)
        ]
        results = await asyncio.gather(*(w.send(b) for w, b in zip(workers, batches, strict=True)))
    finally:
        async for key in redises[0].scan_iter(match=prefix + "*"):
            await redises[0].delete(key)
        for redis in redises:
            await redis.aclose()
    assert all(isinstance(o, Accepted) for outcomes in results for o in outcomes)
    assert emulator.errors[45009] == 0
    received = emulator.inbox.messages[KEY_A]
    assert sorted(received) == sorted(m.text for batch in batches for m in batch)
