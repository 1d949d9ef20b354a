"""The WeChat emulator driven by wechatpy: it must answer as the official-account API does.

wechatpy raises ``WeChatClientException`` for every non-zero errcode and, with
``auto_retry``, fetches a new token once on 40001/42001. Its token fetch has
the real host written in; :class:`EmulatedClient` sends it to ``API_BASE_URL``
like every other call. Expectations come from the account below.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.memorystorage import MemoryStorage

from channels.emulators import wechat
from channels.emulators.accounts import wechat_account
from channels.emulators.common import Faults
from tests.channels.rigs import in_thread

APP_ID, SECRET, FAN, STRANGER, REFUSER = "wx-sdk", "sdk-secret", "oFan0001", "oNobody1", "oNo00002"
TEMPLATE, SUBSCRIBE = "TPL-notice", "SUB-notice"
ACCOUNT = wechat_account(
    {
        "followers": [FAN, REFUSER],
        "refused": [REFUSER],
        "templates": {
            TEMPLATE: {"thing1": "thing", "time2": "time"},
            SUBSCRIBE: {"thing1": "thing", "phrase2": "phrase", "number3": "number"},
        },
    }
)
NOTICE = {"thing1": {"value": "低保复核公示"}, "time2": {"value": "2026年11月22日 09:30"}}
SUB = {
    "thing1": {"value": "低保复核公示"},
    "phrase2": {"value": "已公示"},
    "number3": {"value": "3"},
}


class EmulatedClient(WeChatClient):  # type: ignore[misc]
    """wechatpy's client with its token URL under ``API_BASE_URL`` too."""

    def fetch_access_token(self) -> dict[str, Any]:
        params = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
        result: dict[str, Any] = self._fetch_access_token(self.API_BASE_URL + "token", params)
        return result


@pytest.fixture
def served() -> Iterator[tuple[str, wechat.WeChatEmulatorState]]:
    app = wechat.build_app(
        app_id=APP_ID, app_secret=SECRET, account=ACCOUNT, faults=Faults(token_expiry_after=2)
    )
    with in_thread(app) as base:
        yield base, app[wechat.STATE]


def client(base: str, *, app_id: str = APP_ID, secret: str = SECRET, retry: bool = True) -> Any:
    sdk = EmulatedClient(app_id, secret, session=MemoryStorage(), auto_retry=retry)
    sdk.API_BASE_URL = base + "cgi-bin/"
    return sdk


def test_token_fetch_and_both_sends_reach_the_follower(served: Any) -> None:
    base, state = served
    sdk = client(base)
    token = sdk.fetch_access_token()
    assert token["expires_in"] == 7200 and token["access_token"] in state.tokens
    answer = sdk.message.send_template(FAN, TEMPLATE, NOTICE)
    assert answer["errcode"] == 0 and answer["msgid"]
    assert sdk.message.send_subscribe_message(FAN, SUBSCRIBE, SUB)["errcode"] == 0
    assert state.inbox.messages == {
        FAN: ["低保复核公示 2026年11月22日 09:30", "低保复核公示 已公示 3"]
    }


def test_an_expired_token_is_fetched_again_by_the_sdk(served: Any) -> None:
    base, state = served
    sdk = client(base)
    for _ in range(3):  # the token expires after two calls
        sdk.message.send_template(FAN, TEMPLATE, NOTICE)
    assert state.token_calls == 2
    assert len(state.inbox.messages[FAN]) == 3


def refusal(call: Any) -> int:
    with pytest.raises(WeChatClientException) as caught:
        call()
    return int(caught.value.errcode)


def test_token_refusals(served: Any) -> None:
    base, _ = served
    assert refusal(client(base, secret="not-the-secret").fetch_access_token) == 40125
    assert refusal(client(base, app_id="wx-someone").fetch_access_token) == 40013


def test_an_expired_or_unknown_token_raises_without_retry(served: Any) -> None:
    base, _ = served
    sdk = client(base, retry=False)
    sdk.message.send_template(FAN, TEMPLATE, NOTICE)
    sdk.message.send_template(FAN, TEMPLATE, NOTICE)
    assert refusal(lambda: sdk.message.send_template(FAN, TEMPLATE, NOTICE)) == 42001
    sdk.session.set(sdk.access_token_key, "made-up-token", 7200)
    assert refusal(lambda: sdk.message.send_template(FAN, TEMPLATE, NOTICE)) == 40001


def over(data: dict[str, Any], key: str, value: str) -> dict[str, Any]:
    return {**data, key: {"value": value}}


TEMPLATE_REFUSALS = {
    "not-following": ((STRANGER, TEMPLATE, NOTICE), 43004),
    "refused": ((REFUSER, TEMPLATE, NOTICE), 43101),
    "unknown-template": ((FAN, "TPL-nope", NOTICE), 40037),
    "thing-over-20": ((FAN, TEMPLATE, over(NOTICE, "thing1", "通" * 21)), 47003),
    "time-not-real": ((FAN, TEMPLATE, over(NOTICE, "time2", "2026年2月30日")), 47003),
    "field-missing": ((FAN, TEMPLATE, {"thing1": {"value": "通知"}}), 47003),
    "bad-openid": (("bad openid!", TEMPLATE, NOTICE), 40003),
}


@pytest.mark.parametrize(("args", "code"), TEMPLATE_REFUSALS.values(), ids=TEMPLATE_REFUSALS)
def test_template_send_refusals_raise(served: Any, args: tuple[Any, ...], code: int) -> None:
    base, state = served
    assert refusal(lambda: client(base).message.send_template(*args)) == code
    assert not state.inbox.messages


SUBSCRIBE_REFUSALS = {
    "not-following": ((STRANGER, SUBSCRIBE, SUB), 43004),
    "refused": ((REFUSER, SUBSCRIBE, SUB), 43101),
    "thing-over-20": ((FAN, SUBSCRIBE, over(SUB, "thing1", "通" * 26)), 47003),
    "phrase-over-5": ((FAN, SUBSCRIBE, over(SUB, "phrase2", "已经公示完毕")), 47003),
    "number-not-digits": ((FAN, SUBSCRIBE, over(SUB, "number3", "三")), 47003),
    "empty-value": ((FAN, SUBSCRIBE, over(SUB, "phrase2", "")), 47003),
}


@pytest.mark.parametrize(("args", "code"), SUBSCRIBE_REFUSALS.values(), ids=SUBSCRIBE_REFUSALS)
def test_subscription_send_refusals_raise(served: Any, args: tuple[Any, ...], code: int) -> None:
    base, state = served
    assert refusal(lambda: client(base).message.send_subscribe_message(*args)) == code
    assert not state.inbox.messages


def test_without_an_account_fields_are_still_checked_by_their_type() -> None:
    """The permissive emulator takes any template id, but ``thing1`` stays ≤20."""
    app = wechat.build_app(app_id=APP_ID, app_secret=SECRET)
    with in_thread(app) as base:
        sdk = client(base)
        assert sdk.message.send_template("oAny0001", "TPL-any", NOTICE)["errcode"] == 0
        long = over(NOTICE, "thing1", "通" * 26)
        assert refusal(lambda: sdk.message.send_template("oAny0001", "TPL-any", long)) == 47003


def test_a_template_message_may_leave_a_field_blank(served: Any) -> None:
    """Template messages show an empty value blank (assumed; see emulators.wechat)."""
    base, state = served
    assert client(base).message.send_template(FAN, TEMPLATE, over(NOTICE, "time2", ""))[
        "errcode"
    ] == 0
    assert state.inbox.messages == {FAN: ["低保复核公示 "]}
