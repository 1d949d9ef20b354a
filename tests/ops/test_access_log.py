"""``pusher serve`` logs no line per accepted provider callback; everything else it logs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from pusher.cli import commands
from pusher.settings import Settings
from pusher.web.access_log import CallbackQuietAccessLogger
from tests.channels.wechat_callbacks import callback_client, signed_query

TOKEN = "access-log-token"
UNFOLLOW = (
    "<xml><ToUserName>gh_x</ToUserName><FromUserName>oSomeone</FromUserName>"
    "<CreateTime>1732233600</CreateTime><MsgType>event</MsgType><Event>unsubscribe</Event></xml>"
)


@pytest.fixture
async def client(sqlite_settings: Settings) -> AsyncIterator[TestClient[Any, Any]]:
    quiet = CallbackQuietAccessLogger
    async with callback_client(sqlite_settings, TOKEN, residents=3, access_log_class=quiet) as c:
        yield c


def signed() -> dict[str, str]:
    return signed_query(TOKEN)


async def test_accepted_callbacks_are_summed_up_not_logged_one_by_one(
    client: TestClient[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    accepted = await client.post("/callbacks/wechat", params=signed(), data=UNFOLLOW.encode())
    refused = await client.post("/callbacks/wechat", params=signed(), data=b"not xml")
    unsigned = await client.post("/callbacks/wechat", params={"timestamp": "1"}, data=b"")
    page = await client.get("/login", allow_redirects=False)
    assert [accepted.status, refused.status, unsigned.status, page.status] == [200, 400, 403, 302]
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert len(lines) == 3, lines
    assert any('POST /callbacks/wechat' in line and " 400 " in line for line in lines)
    assert any('POST /callbacks/wechat' in line and " 403 " in line for line in lines)
    assert any("GET /login" in line for line in lines)


def test_serve_uses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    given: dict[str, Any] = {}

    def run_app(*args: Any, **kwargs: Any) -> None:
        given.update(kwargs)
        kwargs["loop"].close()

    monkeypatch.setattr("aiohttp.web.run_app", run_app)
    settings = Settings(database_url="sqlite+aiosqlite:///:memory:")
    commands.serve(settings, host="127.0.0.1", port=1, announce=False)
    assert given["access_log_class"] is CallbackQuietAccessLogger
