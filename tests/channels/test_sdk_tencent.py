"""The Tencent SMS emulator driven by Tencent's own SDK: it must answer as API 3.0 does.

The SDK signs with TC3-HMAC-SHA256 over POST (JSON) and GET (form query) and
raises ``TencentCloudSDKException`` for a ``Response.Error`` — which it reads
only when the answer's Content-Type is exactly ``application/json``. Per-number
refusals come in ``SendStatusSet``. Expectations come from the account below.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models, sms_client

from channels.emulators import tencent_sms
from channels.emulators.accounts import sms_account
from tests.channels.rigs import in_thread

SECRET_ID, SECRET_KEY, APP = "sdk-id", "sdk-key", "1400000001"
SIGN, REFUSED = "青山镇", "13900000099"
ACCOUNT = sms_account(
    "tencent-sms",
    {
        "sign_names": [SIGN],
        "sdk_app_ids": [APP],
        "refused_numbers": [REFUSED],
        "templates": {
            # {1} keeps the default limit (6); {2} was granted 20 characters.
            "1001": {"text": "{1}通知：{2}", "variables": {"2": {"max_len": 20}}},
            "1002": {"text": "验证码{1}", "variables": {"1": "code"}},
        },
    },
)
PARAMS = ["青山镇", "低保复核公示"]
TEXT = f"【{SIGN}】青山镇通知：低保复核公示"


@pytest.fixture
def served() -> Iterator[tuple[str, tencent_sms.TencentSmsState]]:
    app = tencent_sms.build_app(
        secret_id=SECRET_ID, secret_key=SECRET_KEY, account=ACCOUNT, report_delay=0.01
    )
    with in_thread(app) as base:
        yield base.removeprefix("http://").rstrip("/"), app[tencent_sms.STATE]


def client(
    host: str, *, method: str = "POST", secret_id: str = SECRET_ID, key: str = SECRET_KEY
) -> sms_client.SmsClient:
    http = HttpProfile(endpoint=host, reqMethod=method)
    http.scheme = "http"
    profile = ClientProfile(httpProfile=http)
    return sms_client.SmsClient(credential.Credential(secret_id, key), "ap-guangzhou", profile)


def send_request(
    numbers: list[str], params: list[str] = PARAMS, **kw: Any
) -> models.SendSmsRequest:
    request = models.SendSmsRequest()
    request.PhoneNumberSet = numbers
    request.SmsSdkAppId = kw.get("app", APP)
    request.SignName = kw.get("sign", SIGN)
    request.TemplateId = kw.get("template", "1001")
    request.TemplateParamSet = params
    request.SessionContext = "k1"
    return request


def phones(n: int, start: int = 0) -> list[str]:
    return [f"+86139{i:08d}" for i in range(start, start + n)]


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_send_one_and_many_over_post_and_get(served: Any, method: str) -> None:
    host, state = served
    numbers = phones(3)
    resp = client(host, method=method).SendSms(send_request(numbers))
    assert [(s.PhoneNumber, s.Code) for s in resp.SendStatusSet] == [(n, "Ok") for n in numbers]
    assert all(s.SerialNo and s.Fee == 1 for s in resp.SendStatusSet)
    assert state.inbox.messages == {n.removeprefix("+86"): [TEXT] for n in numbers}


def test_per_number_refusals_come_in_the_status_set(served: Any) -> None:
    host, state = served
    resp = client(host).SendSms(send_request(["+8613900000001", "12345", f"+86{REFUSED}"]))
    assert [s.Code for s in resp.SendStatusSet] == [
        "Ok",
        "InvalidParameterValue.IncorrectPhoneNumber",
        "FailedOperation.PhoneNumberInBlacklist",
    ]
    assert list(state.inbox.messages) == ["13900000001"]


def test_pull_status_hands_each_report_out_once(served: Any) -> None:
    host, _ = served
    sent = client(host).SendSms(send_request(phones(2)))
    serials = sorted(s.SerialNo for s in sent.SendStatusSet)
    pull = models.PullSmsSendStatusRequest()
    pull.SmsSdkAppId, pull.Limit = APP, 100
    got: list[Any] = []
    deadline = time.monotonic() + 5
    while len(got) < 2 and time.monotonic() < deadline:
        got += client(host).PullSmsSendStatus(pull).PullSmsSendStatusSet
        time.sleep(0.05)
    assert sorted(r.SerialNo for r in got) == serials
    assert {r.ReportStatus for r in got} == {"SUCCESS"}
    assert client(host).PullSmsSendStatus(pull).PullSmsSendStatusSet == []


def test_pull_by_phone_number_finds_the_message(served: Any) -> None:
    host, _ = served
    client(host).SendSms(send_request(["+8613900000001"]))
    request = models.PullSmsSendStatusByPhoneNumberRequest()
    request.PhoneNumber, request.SmsSdkAppId = "+8613900000001", APP
    request.BeginTime, request.Offset, request.Limit = int(time.time()) - 60, 0, 10
    found: list[Any] = []
    deadline = time.monotonic() + 5
    while not found and time.monotonic() < deadline:
        found = client(host).PullSmsSendStatusByPhoneNumber(request).PullSmsSendStatusSet
        time.sleep(0.05)
    assert [(r.SubscriberNumber, r.SessionContext) for r in found] == [("13900000001", "k1")]


REFUSALS = {
    "wrong-secret": ({"key": "not-the-key"}, {}, "AuthFailure.SignatureFailure"),
    "unknown-account": ({"secret_id": "nobody"}, {}, "AuthFailure.SecretIdNotFound"),
    "unknown-app": ({}, {"app": "1400999999"}, "InvalidParameterValue.SdkAppIdNotExist"),
    "unknown-sign": ({}, {"sign": "别的镇"}, "FailedOperation.SignatureIncorrectOrUnapproved"),
    "unknown-template": ({}, {"template": "9"}, "FailedOperation.TemplateIncorrectOrUnapproved"),
    "missing-variable": (
        {},
        {"params": ["青山镇"]},
        "FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
    ),
    "extra-variable": (
        {},
        {"params": [*PARAMS, "多余"]},
        "FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
    ),
    "variable-over-default-6": (
        {},
        {"params": ["青山镇东村西组", "通知"]},
        "InvalidParameterValue.TemplateParameterLengthLimit",
    ),
    "variable-over-granted-20": (
        {},
        {"params": ["青山镇", "通" * 21]},
        "InvalidParameterValue.TemplateParameterLengthLimit",
    ),
    "code-not-digits": (
        {},
        {"template": "1002", "params": ["12ab"]},
        "InvalidParameterValue.TemplateParameterFormatError",
    ),
    "201-numbers": ({}, {"numbers": phones(201)}, "LimitExceeded.PhoneNumberCountLimit"),
    "no-numbers": ({}, {"numbers": []}, "MissingParameter.EmptyPhoneNumberSet"),
}


@pytest.mark.parametrize(("client_kw", "kw", "code"), REFUSALS.values(), ids=REFUSALS.keys())
@pytest.mark.parametrize("method", ["POST", "GET"])
def test_refusals_raise_in_the_sdk(
    served: Any, method: str, client_kw: dict[str, str], kw: dict[str, Any], code: str
) -> None:
    host, state = served
    kw = dict(kw)  # the table is shared by both methods' runs
    numbers, params = kw.pop("numbers", ["+8613900000001"]), kw.pop("params", PARAMS)
    request = send_request(numbers, params, **kw)
    with pytest.raises(TencentCloudSDKException) as caught:
        client(host, method=method, **client_kw).SendSms(request)
    assert caught.value.code == code
    assert caught.value.requestId
    assert not state.inbox.messages


def test_an_api_version_the_service_lacks_is_refused(served: Any) -> None:
    host, _ = served
    sdk = client(host)
    sdk._apiVersion = "2017-03-12"
    with pytest.raises(TencentCloudSDKException) as caught:
        sdk.SendSms(send_request(["+8613900000001"]))
    assert caught.value.code == "NoSuchVersion"


def test_an_unsupported_region_is_refused(served: Any) -> None:
    host, _ = served
    sdk = client(host)
    sdk.region = "ap-mars"
    with pytest.raises(TencentCloudSDKException) as caught:
        sdk.SendSms(send_request(["+8613900000001"]))
    assert caught.value.code == "UnsupportedRegion"
