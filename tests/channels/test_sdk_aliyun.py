"""The Aliyun SMS emulator driven by Aliyun's own SDKs: it must answer as Dysmsapi does.

``alibabacloud_dysmsapi20170525`` (the current SDK) and ``aliyun-python-sdk-dysmsapi``
(the older core SDK) talk to the emulator served from a thread. Gateway errors
(signature, key) come on HTTP 4xx and the SDKs raise; business refusals come
as ``Code`` on HTTP 200, which the SDKs hand back as they do from the real
service. Every expectation below comes from the account set up here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from alibabacloud_dysmsapi20170525 import models as m
from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_tea_openapi import models as open_api
from alibabacloud_tea_openapi.exceptions import ClientException
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkdysmsapi.request.v20170525.SendSmsRequest import SendSmsRequest

from channels.emulators import aliyun_sms
from channels.emulators.accounts import sms_account
from channels.sms import BEIJING
from tests.channels.rigs import in_thread

KEY, SECRET, SIGN, REFUSED = "sdk-key", "sdk-secret", "青山镇", "13900000099"
ACCOUNT = sms_account(
    "aliyun-sms",
    {
        "sign_names": [SIGN],
        "refused_numbers": [REFUSED],
        "templates": {
            "SMS_100": {
                "text": "${town}通知：${content}",
                "variables": {"town": {"kind": "name"}, "content": {"kind": "others"}},
            },
            "SMS_200": {"text": "您的${item}将于${when}办理", "variables": {"when": "time"}},
        },
    },
)
PARAMS = {"town": "青山镇", "content": "低保复核公示"}
TEXT = f"【{SIGN}】青山镇通知：低保复核公示"


@pytest.fixture
def served() -> Iterator[tuple[str, aliyun_sms.AliyunSmsState]]:
    app = aliyun_sms.build_app(
        access_key_id=KEY, access_key_secret=SECRET, account=ACCOUNT, report_delay=0.01
    )
    with in_thread(app) as base:
        yield base.removeprefix("http://").rstrip("/"), app[aliyun_sms.STATE]


def client(host: str, *, key: str = KEY, secret: str = SECRET) -> Client:
    config = open_api.Config(
        access_key_id=key, access_key_secret=secret, endpoint=host, protocol="http"
    )
    return Client(config)


def send(host: str, phones: str, params: Any = PARAMS, **kw: Any) -> m.SendSmsResponse:
    raw = params if isinstance(params, str) else json.dumps(params, ensure_ascii=False)
    request = m.SendSmsRequest(
        phone_numbers=phones,
        sign_name=kw.pop("sign", SIGN),
        template_code=kw.pop("template", "SMS_100"),
        template_param=raw,
    )
    return client(host, **kw).send_sms(request)


def phones(n: int, start: int = 0) -> list[str]:
    return [f"139{i:08d}" for i in range(start, start + n)]


def test_send_one_is_accepted_and_lands_rendered(served: Any) -> None:
    host, state = served
    resp = send(host, "13900000001")
    assert (resp.status_code, resp.body.code) == (200, "OK")
    assert resp.body.biz_id and resp.body.request_id
    assert state.inbox.messages == {"13900000001": [TEXT]}


def test_send_many_and_batch_reach_every_number(served: Any) -> None:
    host, state = served
    many = phones(3)
    assert send(host, ",".join(many)).body.code == "OK"
    batch = phones(2, start=10)
    towns = ["东村", "西村"]
    request = m.SendBatchSmsRequest(
        phone_number_json=json.dumps(batch),
        sign_name_json=json.dumps([SIGN, SIGN], ensure_ascii=False),
        template_code="SMS_100",
        template_param_json=json.dumps(
            [{"town": t, "content": "通知"} for t in towns], ensure_ascii=False
        ),
    )
    assert client(host).send_batch_sms(request).body.code == "OK"
    assert {p: len(state.inbox.messages[p]) for p in many} == dict.fromkeys(many, 1)
    assert [state.inbox.messages[p] for p in batch] == [
        [f"【{SIGN}】{t}通知：通知"] for t in towns
    ]


def query(host: str, phone: str, biz_id: str) -> list[Any]:
    request = m.QuerySendDetailsRequest(
        phone_number=phone,
        biz_id=biz_id,
        send_date=datetime.now(BEIJING).strftime("%Y%m%d"),
        page_size=10,
        current_page=1,
    )
    body = client(host).query_send_details(request).body
    assert body.code == "OK"
    return list(body.sms_send_detail_dtos.sms_send_detail_dto)


def test_query_send_details_reports_delivered_and_the_refused_number_failed(served: Any) -> None:
    host, _ = served
    biz = send(host, f"13900000001,{REFUSED}").body.biz_id
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        rows = query(host, "13900000001", biz) + query(host, REFUSED, biz)
        if all(r.send_status != 1 for r in rows):
            break
        time.sleep(0.05)
    assert [(r.phone_num, r.send_status) for r in rows] == [("13900000001", 3), (REFUSED, 2)]
    assert rows[0].content == TEXT and rows[0].template_code == "SMS_100"


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"secret": "not-the-secret"}, "SignatureDoesNotMatch"),
        ({"key": "someone-else"}, "InvalidAccessKeyId.NotFound"),
    ],
    ids=["wrong-secret", "unknown-account"],
)
def test_gateway_refusals_raise(served: Any, kw: dict[str, str], code: str) -> None:
    host, state = served
    with pytest.raises(ClientException) as caught:
        send(host, "13900000001", **kw)
    assert caught.value.code == code
    assert not state.inbox.messages


REFUSALS = {
    "unknown-template": ({"template": "SMS_999"}, "isv.SMS_TEMPLATE_ILLEGAL"),
    "unknown-sign": ({"sign": "别的镇"}, "isv.SMS_SIGNATURE_ILLEGAL"),
    "missing-variable": ({"params": {"town": "青山镇"}}, "isv.TEMPLATE_MISSING_PARAMETERS"),
    "variable-over-35": (
        {"params": {"town": "青山镇", "content": "通" * 36}},
        "isv.PARAM_LENGTH_LIMIT",
    ),
    "time-not-a-time": (
        {"template": "SMS_200", "params": {"item": "复核", "when": "下周找时间"}},
        "isv.TEMPLATE_PARAMS_ILLEGAL",
    ),
    "param-not-json": ({"params": "town=青山镇"}, "isv.INVALID_JSON_PARAM"),
    "param-not-object": ({"params": '["青山镇"]'}, "isv.INVALID_JSON_PARAM"),
    "bad-number": ({"phones": "12345"}, "isv.MOBILE_NUMBER_ILLEGAL"),
    "1001-numbers": ({"phones": ",".join(phones(1001))}, "isv.MOBILE_COUNT_OVER_LIMIT"),
}


@pytest.mark.parametrize(("kw", "code"), REFUSALS.values(), ids=REFUSALS.keys())
def test_business_refusals_come_as_codes_on_http_200(
    served: Any, kw: dict[str, Any], code: str
) -> None:
    host, state = served
    kw = dict(kw)  # the table is shared
    resp = send(host, kw.pop("phones", "13900000001"), kw.pop("params", PARAMS), **kw)
    assert (resp.status_code, resp.body.code) == (200, code)
    assert not state.inbox.messages


def test_a_variable_the_template_does_not_name_is_ignored(served: Any) -> None:
    """Dysmsapi takes keys the template does not use and leaves them out of the text."""
    host, state = served
    resp = send(host, "13900000001", {**PARAMS, "extra": "多余"})
    assert resp.body.code == "OK"
    assert state.inbox.messages == {"13900000001": [TEXT]}


def batch(host: str, numbers: list[str], params: str) -> m.SendBatchSmsResponse:
    request = m.SendBatchSmsRequest(
        phone_number_json=json.dumps(numbers),
        sign_name_json=json.dumps([SIGN] * len(numbers), ensure_ascii=False),
        template_code="SMS_100",
        template_param_json=params,
    )
    return client(host).send_batch_sms(request)


def test_batch_refusals(served: Any) -> None:
    host, state = served
    fine = json.dumps([PARAMS] * 101, ensure_ascii=False)
    assert batch(host, phones(101), fine).body.code == "isv.MOBILE_COUNT_OVER_LIMIT"
    assert batch(host, phones(2), '["a", "b"]').body.code == "isv.INVALID_JSON_PARAM"
    assert batch(host, phones(2), "[{").body.code == "isv.INVALID_JSON_PARAM"
    assert not state.inbox.messages


def old_request(host: str, phone: str, params: dict[str, str]) -> SendSmsRequest:
    request = SendSmsRequest()
    request.set_endpoint(host)
    request.set_protocol_type("http")
    request.set_PhoneNumbers(phone)
    request.set_SignName(SIGN)
    request.set_TemplateCode("SMS_100")
    request.set_TemplateParam(json.dumps(params, ensure_ascii=False))
    return request


def test_the_older_core_sdk_sends_and_is_refused_alike(served: Any) -> None:
    host, state = served
    acs = AcsClient(KEY, SECRET, "cn-hangzhou")
    ok = json.loads(acs.do_action_with_exception(old_request(host, "13900000001", PARAMS)))
    assert ok["Code"] == "OK" and ok["BizId"]
    long = {"town": "青山镇", "content": "通" * 36}
    refused = json.loads(acs.do_action_with_exception(old_request(host, "13900000002", long)))
    assert refused["Code"] == "isv.PARAM_LENGTH_LIMIT"
    with pytest.raises(ServerException) as caught:
        AcsClient(KEY, "wrong", "cn-hangzhou").do_action_with_exception(
            old_request(host, "13900000003", PARAMS)
        )
    # The core SDK compares the server's string-to-sign (in the message) with its
    # own and, as they match, names the cause: the secret.
    assert caught.value.get_error_code() == "InvalidAccessKeySecret"
    assert state.inbox.messages == {"13900000001": [TEXT]}
