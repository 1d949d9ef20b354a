"""The customer-group mass-message emulator driven by wechatpy's WeCom client.

wechatpy (``wechatpy.work.WeChatClient``, synchronous, on ``requests``) is an
implementation of the same protocol written without our emulator in mind: its token
fetch, its refresh on 40014/42001 and its reading of ``errcode`` must all work against
it. Its token URL is fixed to the real host, so the test's subclass points it here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from wechatpy.exceptions import WeChatClientException
from wechatpy.work import WeChatClient

from channels.emulators import wecom
from channels.emulators.wecom_groupmsg import GROUPMSG
from channels.emulators.wecom_groupmsg_state import GroupMsgEmulator
from tests.channels.rigs import in_thread

CORP, SECRET = "ww0a1b2c3d4e5f6a7b", "sdk-test-secret"
OWNERS = {"zhangsan": frozenset({"wrA1", "wrA2"}), "lisi": frozenset({"wrB1"})}


class LocalWeCom(WeChatClient):  # type: ignore[misc]
    """wechatpy's WeCom client with both its base URL and its token URL on the emulator."""

    def __init__(self, base: str) -> None:
        super().__init__(CORP, SECRET)
        self.API_BASE_URL = base + "cgi-bin/"
        self._base = base

    def fetch_access_token(self) -> Any:
        params = {"corpid": self.corp_id, "corpsecret": self.secret}
        return self._fetch_access_token(url=self._base + "cgi-bin/gettoken", params=params)


@pytest.fixture
def served() -> Iterator[tuple[str, GroupMsgEmulator]]:
    state = GroupMsgEmulator(CORP, SECRET, OWNERS)
    app = wecom.build_app(groupmsg=state)
    with in_thread(app) as base:
        yield base, app[GROUPMSG]


def test_wechatpy_creates_a_task_and_reads_the_owners_send(
    served: tuple[str, GroupMsgEmulator],
) -> None:
    base, state = served
    client = LocalWeCom(base)
    created = client.external_contact.add_msg_template(
        {
            "chat_type": "group",
            "sender": "zhangsan",
            "chat_id_list": ["wrA1", "wrA2", "wrB1"],
            "text": {"content": "西山村：本周六上午义诊"},
            "attachments": [
                {"msgtype": "link", "link": {"title": "义诊", "url": "https://example.gov.cn/n/2"}}
            ],
        }
    )
    assert created["errcode"] == 0
    assert created["fail_list"] == ["wrB1"]
    msgid = created["msgid"]
    task = client.post("externalcontact/get_groupmsg_task", data={"msgid": msgid})
    assert [(t["userid"], t["status"]) for t in task["task_list"]] == [("zhangsan", 0)]

    confirm = {"msgid": msgid, "sender": "zhangsan"}
    assert requests.post(f"{base}emulator/groupmsg/confirm", json=confirm, timeout=5).ok
    state.expire_tokens()  # wechatpy must refresh by itself (42001) and repeat the call
    task = client.post("externalcontact/get_groupmsg_task", data={"msgid": msgid})
    assert task["task_list"][0]["status"] == 2
    result = client.post(
        "externalcontact/get_groupmsg_send_result", data={"msgid": msgid, "userid": "zhangsan"}
    )
    assert sorted((r["chat_id"], r["status"]) for r in result["send_list"]) == [
        ("wrA1", 1),
        ("wrA2", 1),
    ]
    assert all(r["send_time"] > 0 for r in result["send_list"])
    assert state.token_fetches == 2
    assert (
        client.post("externalcontact/remind_groupmsg_send", data={"msgid": msgid})["errcode"] == 0
    )


def test_wechatpy_reads_the_errcode_of_a_refusal(served: tuple[str, GroupMsgEmulator]) -> None:
    base, _ = served
    client = LocalWeCom(base)
    with pytest.raises(WeChatClientException) as raised:
        client.post("externalcontact/get_groupmsg_task", data={"msgid": "msg-unknown"})
    assert raised.value.errcode == 41047
    with pytest.raises(WeChatClientException) as refused:
        client.external_contact.add_msg_template(
            {
                "chat_type": "group",
                "sender": "lisi",
                "chat_id_list": ["wrA1"],
                "text": {"content": "x"},
            }
        )
    assert refused.value.errcode == 41048
