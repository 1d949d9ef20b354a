"""The HTTP base: what each kind of transport trouble becomes, and what dispatch does with it.

The servers here are real sockets on 127.0.0.1: one that answers what it is told,
one that takes the request and hangs up without a word, and a port nobody
listens on.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from channels.base import (
    LookupFailed,
    Message,
    PermanentError,
    Rejected,
    TransientError,
    UnknownOutcome,
    not_asked,
)
from channels.http import Answer, HttpSession
from channels.ratelimit import MemoryRateLimiter
from channels.wecom import WeComRobotChannel, WeComSettings
from pusher.pipeline.outcomes import RetryPolicy, _sort

KEY = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
async def hangs_up() -> AsyncIterator[str]:
    """A server that reads the whole request, then closes the connection unanswered."""

    async def take(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(take, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/"
    server.close()
    await server.wait_closed()


@pytest.fixture
def nobody() -> str:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


async def answering(status: int, body: bytes, delay: float = 0.0) -> TestServer:
    async def handle(_: web.Request) -> web.Response:
        await asyncio.sleep(delay)
        return web.Response(status=status, body=body, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    return server


async def test_a_dropped_link_after_the_request_is_an_unknown_outcome(
    http: aiohttp.ClientSession, hangs_up: str
) -> None:
    with pytest.raises(UnknownOutcome) as caught:
        await HttpSession(http, timeout_seconds=5).post(hangs_up, data=b"{}")
    assert caught.value.code == "network"


async def test_a_connection_never_made_is_a_plain_retry(
    http: aiohttp.ClientSession, nobody: str
) -> None:
    with pytest.raises(TransientError) as caught:
        await HttpSession(http, timeout_seconds=5).post(nobody, data=b"{}")
    assert not isinstance(caught.value, UnknownOutcome)
    assert caught.value.code == "connect"


async def test_no_answer_in_time_is_an_unknown_outcome(http: aiohttp.ClientSession) -> None:
    server = await answering(200, b"{}", delay=2.0)
    try:
        with pytest.raises(UnknownOutcome) as caught:
            await HttpSession(http, timeout_seconds=0.2).post(server.make_url("/"))
    finally:
        await server.close()
    assert caught.value.code == "timeout"


@pytest.mark.parametrize(
    ("status", "body", "error", "code"),
    [
        (503, b"busy", TransientError, "http_503"),
        (429, b"slow down", TransientError, "http_429"),
        (404, b"{}", PermanentError, "http_404"),
        (200, b"<html>proxy login</html>", TransientError, "bad_response"),
    ],
)
async def test_statuses_and_bodies_map_to_one_spelling(
    http: aiohttp.ClientSession,
    status: int,
    body: bytes,
    error: type[Exception],
    code: str,
) -> None:
    server = await answering(status, body)
    try:
        with pytest.raises(error) as caught:
            answer = await HttpSession(http, timeout_seconds=5).request("GET", server.make_url("/"))
            answer.json_object(refuse_4xx=True)
    finally:
        await server.close()
    assert type(caught.value) is error
    assert getattr(caught.value, "code", None) == code


async def test_a_real_channel_reports_a_dropped_link_as_unknown(
    http: aiohttp.ClientSession, hangs_up: str
) -> None:
    """WeCom answered ``network`` before, a code the unknown-outcome list did not hold."""
    channel = WeComRobotChannel(
        WeComSettings(base_url=hangs_up, msgtype="text"), session=http, limiter=MemoryRateLimiter()
    )
    [outcome] = await channel.send([Message(key="1", recipient=KEY, text="停水通知")])
    assert isinstance(outcome, Rejected)
    assert isinstance(outcome.error, UnknownOutcome) and outcome.error.code == "network"


def test_dispatch_sorts_refusals_by_type_not_by_code() -> None:
    """Unknown outcomes wait for a look-up, plain retries are queued, failed look-ups
    are asked again: whatever the code is spelled."""
    rejected = [
        Rejected("1", UnknownOutcome("network", "")),
        Rejected("2", UnknownOutcome("whatever-a-provider-says", "")),
        Rejected("3", TransientError("connect", "")),
        Rejected("4", TransientError("timeout", "")),  # a code alone decides nothing
        not_asked("5", TransientError("http_503", "")),
    ]
    sorted_ = _sort(
        rejected,
        {str(i): 1 for i in range(1, 6)},
        policy=RetryPolicy(delays=[60], jitter=0.0),
        now=datetime(2026, 12, 6, tzinfo=UTC),
        paced_until=None,
        waits={},
    )
    keys = {name: [o.key for o, _ in rows] for name, rows in sorted_.items()}
    assert keys == {
        "uncertain": ["1", "2"],
        "retry": ["3", "4"],
        "unasked": ["5"],
        "deferred": [],
        "final": [],
    }
    assert isinstance(rejected[4].error, LookupFailed)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"errcode":0,"msgid":200163836}', {"errcode": 0, "msgid": 200163836}),
        ('{"errmsg":"好"}'.encode(), {"errmsg": "好"}),
        (b'{"errcode":0,"errmsg":"ok \xff"}', {"errcode": 0, "errmsg": "ok \ufffd"}),  # bad UTF-8
        (b'{"msgid":123456789012345678901234567890}', {"msgid": 123456789012345678901234567890}),
        (b'{"errcode": 0, "errcode": 40001}', {"errcode": 40001}),  # the last one counts
    ],
)
def test_an_answer_reads_as_json_reads_it(body: bytes, expected: dict[str, object]) -> None:
    assert Answer(200, body).json_object() == expected


def test_an_answer_that_is_not_an_object_is_a_bad_response() -> None:
    for body in (b"[1]", b"not json", b"\xff\xfe"):
        with pytest.raises(TransientError):
            Answer(200, body).json_object()
