"""The WeCom robot emulator driven as WeCom's docs drive a robot: plain HTTP POSTs.

WeCom publishes no SDK for group robots; its docs send JSON with any HTTP
client, so ``requests`` (sync) and ``aiohttp`` (async) stand in. Every answer
is HTTP 200 with ``errcode``. Also here: every emulator serves
``GET /emulator/inbox`` with the same JSON shape (see ``emulators.common``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import pytest
import requests
from aiohttp import web

from channels.emulators import aliyun_sms, tencent_sms, wechat, wecom
from channels.emulators.accounts import wecom_account
from tests.channels.rigs import in_thread

ROBOT = "693a91f6-7a2b-4bc4-97a0-0ec2fa5aaa01"
OTHER = "693a91f6-7a2b-4bc4-97a0-0ec2fa5aaa02"  # UUID-shaped, but not this account's


@pytest.fixture
def served() -> Iterator[tuple[str, wecom.WeComEmulator]]:
    app = wecom.build_app(account=wecom_account({"keys": [ROBOT]}), per_minute=20)
    with in_thread(app) as base:
        yield base, app[wecom.WECOM_EMULATOR]


def post(base: str, body: Any, key: str = ROBOT) -> dict[str, Any]:
    resp = requests.post(f"{base}cgi-bin/webhook/send", params={"key": key}, json=body, timeout=5)
    assert resp.status_code == 200
    answer: dict[str, Any] = resp.json()
    return answer


def text(content: str) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": content}}


def markdown(content: str) -> dict[str, Any]:
    return {"msgtype": "markdown", "markdown": {"content": content}}


def test_text_and_markdown_are_delivered(served: Any) -> None:
    base, state = served
    assert post(base, text("停水通知"))["errcode"] == 0
    assert post(base, markdown("**停水**通知"))["errcode"] == 0
    assert state.inbox.messages == {ROBOT: ["停水通知", "**停水**通知"]}


async def test_aiohttp_gets_the_same_answers(served: Any) -> None:
    base, state = served
    async with aiohttp.ClientSession() as http:
        url = f"{base}cgi-bin/webhook/send"
        async with http.post(url, params={"key": ROBOT}, json=text("通知")) as resp:
            assert (resp.status, (await resp.json())["errcode"]) == (200, 0)
        async with http.post(url, params={"key": OTHER}, json=text("通知")) as resp:
            assert (await resp.json())["errcode"] == 93000
    assert state.inbox.messages == {ROBOT: ["通知"]}


REFUSALS = {
    "unknown-robot": ((text("通知"), OTHER), 93000),
    "text-over-2048-bytes": ((text("通" * 683), ROBOT), 40058),  # 2049 bytes of UTF-8
    "markdown-over-4096-bytes": ((markdown("通" * 1366), ROBOT), 40058),  # 4098 bytes
    "empty": ((text(""), ROBOT), 44004),
    "unknown-type": (({"msgtype": "voice", "voice": {}}, ROBOT), 40008),
}


@pytest.mark.parametrize(("args", "code"), REFUSALS.values(), ids=REFUSALS)
def test_refusals(served: Any, args: tuple[Any, str], code: int) -> None:
    base, state = served
    answer = post(base, *args)
    assert answer["errcode"] == code and answer["errmsg"]
    assert not state.inbox.messages


def test_the_21st_message_in_a_minute_is_refused_45009(served: Any) -> None:
    base, state = served
    codes = [post(base, text(f"第{i}条"))["errcode"] for i in range(21)]
    assert codes == [0] * 20 + [45009]
    assert len(state.inbox.messages[ROBOT]) == 20


def test_the_limits_are_bytes_not_characters(served: Any) -> None:
    base, _ = served
    assert post(base, text("通" * 682))["errcode"] == 0  # 2046 bytes
    assert post(base, markdown("通" * 1365))["errcode"] == 0  # 4095 bytes


Sender = Callable[[web.Application], None]


EMULATORS: dict[str, tuple[Callable[[], web.Application], Sender, str]] = {
    "wecom": (
        wecom.build_app,
        lambda app: app[wecom.WECOM_EMULATOR].inbox.add(ROBOT, "通知"),
        ROBOT,
    ),
    "wechat": (
        wechat.build_app,
        lambda app: app[wechat.STATE].inbox.add("oFan0001", "通知"),
        "oFan0001",
    ),
    "aliyun-sms": (
        aliyun_sms.build_app,
        lambda app: app[aliyun_sms.STATE].inbox.add("13900000001", "通知"),
        "13900000001",
    ),
    "tencent-sms": (
        tencent_sms.build_app,
        lambda app: app[tencent_sms.STATE].inbox.add("13900000001", "通知"),
        "13900000001",
    ),
}


@pytest.mark.parametrize(("build", "receive", "recipient"), EMULATORS.values(), ids=EMULATORS)
def test_every_emulator_serves_its_inbox_over_http(
    build: Callable[[], web.Application], receive: Sender, recipient: str
) -> None:
    app = build()
    with in_thread(app) as base:
        empty = requests.get(f"{base}emulator/inbox", timeout=5)
        assert (empty.status_code, empty.json()) == (200, {})
        assert empty.headers["Content-Type"].startswith("application/json")
        receive(app)
        assert requests.get(f"{base}emulator/inbox", timeout=5).json() == {recipient: ["通知"]}
