"""WeChat callbacks cannot be forged, replayed or read back from the logs.

The attacks: with no token configured anybody can sign; a signed query string seen
once (in an access log, say) can be posted again with any body, since the signature
covers only token, timestamp and nonce; and the SMS callback secret sat in logged paths.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlalchemy import select

from channels.emulators import wechat
from channels.wechat import WeChatSettings
from pusher.models import Resident
from pusher.ops.logs import JsonFormatter, MaskingFormatter
from pusher.settings import Settings
from pusher.web.app import create_app
from pusher.web.keys import RESOURCES, SETTINGS
from tests.spine.conftest import start

WX_TOKEN = "guard-wx-token"


def _event(openid: str, event: str) -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[gh_x]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event></xml>"
    ).encode()


def _signed(token: str = WX_TOKEN, *, at: float | None = None, nonce: str = "") -> dict[str, str]:
    stamp = str(int(time.time() if at is None else at))
    nonce = nonce or f"n{time.monotonic_ns()}"
    return {"signature": wechat.sign(token, stamp, nonce), "timestamp": stamp, "nonce": nonce}


@asynccontextmanager
async def serving(settings: Settings, **wechat: Any) -> AsyncIterator[Ours]:
    """A small town and our app, its WeChat block changed by ``wechat``."""
    await start(settings, residents=40)
    block = WeChatSettings.model_validate(
        settings.wechat.model_dump() | {"token": SecretStr(WX_TOKEN)} | wechat
    )
    configured = settings.model_copy(update={"wechat": block})
    async with TestClient(TestServer(create_app(configured))) as client:
        yield Ours(client)


@dataclass
class Ours:
    client: TestClient[web.Request, web.Application]

    async def followers(self) -> list[Resident]:
        async with self.client.server.app[RESOURCES].db() as session:
            query = select(Resident).where(Resident.wechat_follows).order_by(Resident.id)
            return list(await session.scalars(query))

    async def follows(self, resident: Resident) -> bool:
        async with self.client.server.app[RESOURCES].db() as session:
            again = await session.get_one(Resident, resident.id)
        return again.wechat_follows and not again.wechat_opt_out

    async def unsubscribe(self, query: dict[str, str], resident: Resident) -> int:
        assert resident.openid
        body = _event(resident.openid, "unsubscribe")
        resp = await self.client.post("/callbacks/wechat", params=query, data=body)
        return resp.status

    async def handshake(self, query: dict[str, str]) -> int:
        resp = await self.client.get("/callbacks/wechat", params=query | {"echostr": "e"})
        return resp.status


async def test_a_replayed_query_string_is_refused_and_changes_nothing(
    either_settings: Settings,
) -> None:
    async with serving(either_settings) as ours:
        first, second = (await ours.followers())[:2]
        query = _signed()
        assert await ours.unsubscribe(query, first) == 200
        assert not await ours.follows(first), "control: the genuine callback applies"
        # the same signed query string with another body: a replay
        assert await ours.unsubscribe(query, second) == 403
        assert await ours.follows(second)
        assert await ours.unsubscribe(_signed(), second) == 200, "a fresh nonce passes"


@pytest.mark.parametrize("skew", [-400, 400])
async def test_a_stale_or_future_timestamp_is_refused(sqlite_settings: Settings, skew: int) -> None:
    async with serving(sqlite_settings) as ours:
        follower = (await ours.followers())[0]
        assert await ours.unsubscribe(_signed(at=time.time() + skew), follower) == 403
        assert await ours.handshake(_signed(at=time.time() + skew)) == 403
        assert await ours.follows(follower)
        assert await ours.handshake(_signed()) == 200, "control: a fresh one passes"


async def test_without_a_token_the_callback_route_does_not_exist(sqlite_settings: Settings) -> None:
    async with serving(sqlite_settings, token=SecretStr("")) as ours:
        follower = (await ours.followers())[0]
        forged = _signed(token="")  # anybody can compute this one
        assert await ours.unsubscribe(forged, follower) == 404
        assert await ours.handshake(_signed(token="")) == 404
        assert await ours.follows(follower)


async def test_safe_mode_refuses_plaintext_bodies(sqlite_settings: Settings) -> None:
    async with serving(sqlite_settings, encoding_aes_key=SecretStr("a" * 43)) as ours:
        follower = (await ours.followers())[0]
        assert await ours.unsubscribe(_signed(), follower) == 403
        assert await ours.follows(follower)


@contextmanager
def _captured() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handlers = [logging.StreamHandler(out), logging.StreamHandler(out)]
    handlers[0].setFormatter(MaskingFormatter("%(name)s %(message)s"))
    handlers[1].setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.INFO)
    for handler in handlers:
        root.addHandler(handler)
    try:
        yield out
    finally:
        for handler in handlers:
            root.removeHandler(handler)
        root.setLevel(old_level)


async def test_callback_secrets_and_signatures_never_reach_the_logs(
    sqlite_settings: Settings,
) -> None:
    async with serving(sqlite_settings) as ours:
        secret = ours.client.server.app[SETTINGS].callback_secret.get_secret_value()
        follower = (await ours.followers())[0]
        query = _signed()
        with _captured() as out:
            await ours.client.post(f"/callbacks/aliyun/report/{secret}", data=b"not json")
            await ours.client.post(f"/callbacks/tencent/reply/{secret}", json=[])
            assert await ours.unsubscribe(query, follower) == 200
        logged = out.getvalue()
    assert "/callbacks/aliyun/report/***" in logged, logged  # the access log was captured
    assert secret not in logged
    assert query["signature"] not in logged and query["nonce"] not in logged
