"""The WeChat emulator checks every field by its type as the service does, with 47003
and the service's errmsg ("argument invalid! data.KEY.value invalid" / "is empty")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from wechatpy.exceptions import WeChatClientException

from channels.base import Accepted, FatalError, Message, Rejected
from channels.emulators import wechat
from channels.emulators.accounts import wechat_account
from tests.channels.rigs import in_thread
from tests.channels.test_sdk_wechat import APP_ID, SECRET, client
from tests.channels.test_wechat import Serve, channel_for, serve, servers, session

__all__ = ["serve", "servers", "session"]  # fixtures shared with test_wechat

FAN, TEMPLATE, SUBSCRIBE = "oFan0001", "TPL-typed", "SUB-typed"
FIELDS = {
    "thing1": "thing",
    "time2": "time",
    "phrase3": "phrase",
    "character_string4": "character_string",
    "number5": "number",
}
ACCOUNT = wechat_account({"templates": {TEMPLATE: FIELDS, SUBSCRIBE: FIELDS}})
GOOD = {
    "thing1": "高龄津贴发放公示",
    "time2": "2026年12月20日",
    "phrase3": "政务公开",
    "character_string4": "0571-8888",
    "number5": "300",
}


@pytest.fixture
def base() -> Iterator[str]:
    app = wechat.build_app(app_id=APP_ID, app_secret=SECRET, account=ACCOUNT)
    with in_thread(app) as url:
        yield url


def data(**over: str) -> dict[str, Any]:
    return {k: {"value": v} for k, v in (GOOD | over).items()}


def errmsg(call: Any) -> str:
    with pytest.raises(WeChatClientException) as caught:
        call()
    assert caught.value.errcode == 47003
    return str(caught.value.errmsg)


def test_good_fields_pass_both_paths(base: str) -> None:
    sdk = client(base)
    assert sdk.message.send_template(FAN, TEMPLATE, data())["errcode"] == 0
    assert sdk.message.send_subscribe_message(FAN, SUBSCRIBE, data())["errcode"] == 0
    ranges = data(time2="2026年12月20日 9:00~2026年12月21日 17:30")
    assert sdk.message.send_subscribe_message(FAN, SUBSCRIBE, ranges)["errcode"] == 0


BAD = {
    "thing-over-20": ("thing1", "通" * 21),
    "time-with-dashes": ("time2", "2026-12-20 09:00"),
    "time-not-a-day": ("time2", "2026年2月30日"),
    "time-words": ("time2", "即日起"),
    "phrase-over-5": ("phrase3", "已经公示完毕"),
    "phrase-not-han": ("phrase3", "OK"),
    "string-with-han": ("character_string4", "电话8888"),
    "number-not-digits": ("number5", "三百"),
}


@pytest.mark.parametrize(("key", "value"), BAD.values(), ids=BAD.keys())
@pytest.mark.parametrize("path", ["template", "subscribe"])
def test_a_value_its_type_refuses_is_47003_naming_the_field(
    base: str, path: str, key: str, value: str
) -> None:
    sdk = client(base)
    send = {"template": lambda: sdk.message.send_template(FAN, TEMPLATE, data(**{key: value})),
            "subscribe": lambda: sdk.message.send_subscribe_message(
                FAN, SUBSCRIBE, data(**{key: value}))}[path]  # fmt: skip
    assert errmsg(send).startswith(f"argument invalid! data.{key}.value invalid rid: ")


def test_an_empty_or_missing_field_of_a_notice_is_empty(base: str) -> None:
    sdk = client(base)
    empty = errmsg(lambda: sdk.message.send_subscribe_message(FAN, SUBSCRIBE, data(time2="")))
    assert empty.startswith("argument invalid! data.time2.value is empty")
    partial = {k: v for k, v in data().items() if k != "phrase3"}
    missing = errmsg(lambda: sdk.message.send_subscribe_message(FAN, SUBSCRIBE, partial))
    assert missing.startswith("argument invalid! data.phrase3.value is empty")
    missing = errmsg(lambda: sdk.message.send_template(FAN, TEMPLATE, partial))
    assert missing.startswith("argument invalid! data.phrase3.value is empty")


async def test_a_message_without_fields_goes_as_the_text_template(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    """The pipeline sends no params when a typed field could not be filled: the channel
    then uses ``text_template_id`` (one untyped ``content`` field), never the typed one."""
    account = wechat_account(
        {
            "templates": {
                TEMPLATE: {"thing1": "thing", "time2": "time"},
                "TPL-text": {"content": "keyword"},
            }
        }
    )
    base, state = await serve(account=account)
    channel = channel_for(base, session, template_id=TEMPLATE, text_template_id="TPL-text")
    typed = Message(
        key="k1",
        recipient=FAN,
        text="停水通知",
        params={"thing1": "停水通知", "time2": "2026年12月6日"},
    )
    fallback = Message(key="k2", recipient=FAN, text="停水通知\n详见全文")
    outcomes = await channel.send([typed, fallback])
    assert all(isinstance(o, Accepted) for o in outcomes), outcomes
    assert [s.template_id for s in state.sent.values()] == [TEMPLATE, "TPL-text"]
    bare = channel_for(base, session, template_id=TEMPLATE)  # no text template: refused
    (refused,) = await bare.send([Message(key="k3", recipient=FAN, text="停水通知")])
    assert isinstance(refused, Rejected) and refused.error.code == "47003"


async def test_a_notice_without_fields_is_refused_before_the_call(
    serve: Serve, session: aiohttp.ClientSession
) -> None:
    """Subscription notices have only typed fields: no params is never sent as bait."""
    base, state = await serve(account=ACCOUNT)
    channel = channel_for(base, session, mode="subscribe", subscribe_template_id=SUBSCRIBE)
    (outcome,) = await channel.send([Message(key="k1", recipient=FAN, text="停水通知")])
    assert isinstance(outcome, Rejected) and outcome.error.code == "unfilled_fields"
    assert not isinstance(outcome.error, FatalError)
    assert state.calls["/cgi-bin/message/subscribe/bizsend"] == 0
    typed = Message(key="k2", recipient=FAN, text="停水通知", params=GOOD)
    assert isinstance((await channel.send([typed]))[0], Accepted)
