"""``POST /callbacks/wechat`` from a test: a signed query and a client of a started app."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from channels.emulators.wechat import sign
from channels.wechat import WeChatSettings
from pusher.settings import Settings
from pusher.web.app import create_app
from tests.spine.conftest import start


def signed_query(token: str) -> dict[str, str]:
    """A callback's query signed with ``token``: timestamp now, a fresh nonce."""
    stamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    return {"signature": sign(token, stamp, nonce), "timestamp": stamp, "nonce": nonce}


@asynccontextmanager
async def callback_client(
    settings: Settings, token: str, *, residents: int, **server: Any
) -> AsyncIterator[TestClient[Any, Any]]:
    """A client of the web app of a started town whose WeChat callbacks take ``token``
    (``server``: the runner's options, ``access_log_class`` say)."""
    settings = settings.model_copy(update={"wechat": WeChatSettings(token=SecretStr(token))})
    await start(settings, residents=residents)
    test_server = TestServer(create_app(settings))
    await test_server.start_server(**server)
    client: TestClient[Any, Any] = TestClient(test_server)
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()
