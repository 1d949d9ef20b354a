"""Odd WeChat event XML, validly signed, gets a 400 from ``POST /callbacks/wechat``, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient

from pusher.settings import Settings
from tests.channels.wechat_callbacks import callback_client, signed_query

TOKEN = "xml-cb-token"
HEAD = "<xml><ToUserName>gh_x</ToUserName><FromUserName>oResident</FromUserName>"
UNFOLLOW = "<MsgType>event</MsgType><Event>unsubscribe</Event></xml>"
NOW = "<CreateTime>1732233600</CreateTime>"
TEMPLATE = "<MsgType>event</MsgType><Event>TEMPLATESENDJOBFINISH</Event><Status>success</Status>"

ODD = {
    "no CreateTime": HEAD + UNFOLLOW,
    "empty CreateTime": HEAD + "<CreateTime/>" + UNFOLLOW,
    "CreateTime abc": HEAD + "<CreateTime>abc</CreateTime>" + UNFOLLOW,
    "CreateTime in Arabic-Indic digits": HEAD + "<CreateTime>١٧٣٢٢٣٣٦٠٠</CreateTime>" + UNFOLLOW,
    "CreateTime beyond any clock": HEAD + f"<CreateTime>{10**20}</CreateTime>" + UNFOLLOW,
    "nested MsgType": HEAD + NOW + "<MsgType><a>event</a></MsgType><Event>x</Event></xml>",
    "repeated MsgType": HEAD + NOW + "<MsgType>event</MsgType>" + UNFOLLOW,
    "nested Event": HEAD + NOW + "<MsgType>event</MsgType><Event><a>x</a></Event></xml>",
    "MsgID abc": HEAD + NOW + TEMPLATE + "<MsgID>abc</MsgID></xml>",
    "nested MsgID": HEAD + NOW + TEMPLATE + "<MsgID><a>1</a></MsgID></xml>",
    "no FromUserName": "<xml>" + NOW + UNFOLLOW,
    "nested EventKey": HEAD + NOW + "<MsgType>event</MsgType><Event>subscribe</Event>"
    "<EventKey><a/></EventKey></xml>",
    "subscribe receipt without List": HEAD + NOW + "<MsgType>event</MsgType>"
    "<Event>subscribe_msg_sent_event</Event></xml>",
    "subscribe receipt List of text": HEAD + NOW + "<MsgType>event</MsgType>"
    "<Event>subscribe_msg_sent_event</Event><SubscribeMsgSentEvent><List>x</List>"
    "</SubscribeMsgSentEvent></xml>",
    "not XML": "not xml at all",
    "empty body": "",
}


@pytest.fixture
async def client(sqlite_settings: Settings) -> AsyncIterator[TestClient[object, object]]:
    async with callback_client(sqlite_settings, TOKEN, residents=10) as c:
        yield c


def signed() -> dict[str, str]:
    return signed_query(TOKEN)


async def test_odd_event_xml_is_a_400(client: TestClient[object, object]) -> None:
    answers = {}
    for name, xml in ODD.items():
        answer = await client.post("/callbacks/wechat", params=signed(), data=xml.encode())
        answers[name] = (answer.status, await answer.text())
    wrong = {name: got for name, got in answers.items() if got[0] != 400}
    assert wrong == {}
    assert all("回调无效" in text for _, text in answers.values())


async def test_a_well_formed_event_still_passes(client: TestClient[object, object]) -> None:
    answer = await client.post(
        "/callbacks/wechat", params=signed(), data=(HEAD + NOW + UNFOLLOW).encode()
    )
    assert (answer.status, await answer.text()) == (200, "success")
