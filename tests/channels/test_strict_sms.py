"""The Aliyun and Tencent emulators with an account refuse what the real services refuse.

The accounts are the suggested templates of docs/sms-templates (what a township
applies for), plus templates whose text the provider's review would not approve.
Each refusal is checked over the wire with the provider's own SDK and its real code;
what a resident receives is the template's text after substitution.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from alibabacloud_dysmsapi20170525 import models as m

from channels.emulators import aliyun_sms, tencent_sms
from channels.emulators.accounts import ALIYUN_VAR, read_account, sms_account
from channels.emulators.review import review
from tests.channels import test_sdk_aliyun as ali
from tests.channels import test_sdk_tencent as ten
from tests.channels.rigs import in_thread

DOCS = Path(__file__).resolve().parents[2] / "docs" / "sms-templates"
SIGN = "青山镇人民政府"
LINK = "https://gk.example.gov.cn/s/"
# Texts the review refuses, each for one reason (Aliyun spelling; Tencent's below).
UNAPPROVED = {
    "all-variables": "${title}",
    "adjacent": "${org}${title}，详见 https://gk.example.gov.cn/s/${code}",
    "brackets": "【青山镇】${title}，详见 https://gk.example.gov.cn/s/${code}",
    "opt-out": "${title}，详见 https://gk.example.gov.cn/s/${code} 拒收请回复R",
    "variable-host": "${title}，详见 https://${code}/s",
    "link-not-link-param": "${title}，详见 https://gk.example.gov.cn/s/${code}",
    "twice": "${title}通知：${title}，详见 https://gk.example.gov.cn/s/${code}",
}


def _kinds(name: str) -> list[tuple[str, str]]:
    """Each variable's property: a link's path is link_param but in the one case."""
    names = dict.fromkeys(ALIYUN_VAR.findall(UNAPPROVED[name]))
    link = "others" if name == "link-not-link-param" else "link_param"
    return [(n, link if n == "code" else "others") for n in names]


def _yaml(name: str) -> dict[str, Any]:
    data = yaml.safe_load((DOCS / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def aliyun_data() -> dict[str, Any]:
    data = _yaml("aliyun.yaml")
    for n, name in enumerate(UNAPPROVED):
        text = UNAPPROVED[name]
        data["templates"][f"SMS_BAD{n}"] = {"text": text, "variables": dict(_kinds(name))}
    data["templates"]["SMS_LONG"] = {
        "text": "${org}通知：${body}",
        "variables": {"body": {"kind": "others", "max_len": 500}},
    }
    return data


@pytest.fixture
def aliyun(caplog: pytest.LogCaptureFixture) -> Iterator[tuple[str, aliyun_sms.AliyunSmsState]]:
    with caplog.at_level(logging.WARNING, logger="channels.emulators.accounts"):
        account = sms_account("aliyun-sms", aliyun_data())
    app = aliyun_sms.build_app(
        access_key_id=ali.KEY, access_key_secret=ali.SECRET, account=account, report_delay=0.01
    )
    with in_thread(app) as base:
        yield base.removeprefix("http://").rstrip("/"), app[aliyun_sms.STATE]


NOTICE = {"org": "青山镇", "title": "高龄津贴发放公示", "code": "Ab3x9"}


def send_aliyun(host: str, template: str = "SMS_480100001", sign: str = SIGN, **params: Any) -> str:
    raw = json.dumps(params or NOTICE, ensure_ascii=False)
    request = m.SendSmsRequest(
        phone_numbers="13900000001", sign_name=sign, template_code=template, template_param=raw
    )
    return str(ali.client(host).send_sms(request).body.code)


def test_the_suggested_templates_pass_review() -> None:
    for provider, name in (("aliyun-sms", "aliyun.yaml"), ("tencent-sms", "tencent.yaml")):
        account = read_account(provider, DOCS / name)
        assert account.templates, name  # type: ignore[union-attr]
        for code, template in account.templates.items():  # type: ignore[union-attr]
            assert template.approved, (code, template.refusals)


@pytest.mark.parametrize("name", UNAPPROVED)
def test_review_refuses_each_rule(name: str) -> None:
    reasons = review(UNAPPROVED[name], ALIYUN_VAR, link_kinds=_kinds(name), link_kind="link_param")
    assert len(reasons) == 1, reasons


def test_a_good_notice_lands_as_the_resident_reads_it(aliyun: Any) -> None:
    host, state = aliyun
    assert send_aliyun(host) == "OK"
    want = f"【{SIGN}】青山镇发布通知：高龄津贴发放公示，详见 {LINK}Ab3x9"
    assert state.inbox.messages == {"13900000001": [want]}
    assert state.records[0].content == want  # QuerySendDetails shows the same


@pytest.mark.parametrize("deadline", ["2026年12月20日", "2026-12-20 17:30", "20261220下午"])
def test_a_deadline_in_the_time_property_s_shapes_is_taken(aliyun: Any, deadline: str) -> None:
    host, state = aliyun
    assert send_aliyun(host, "SMS_480100003", **NOTICE, deadline=deadline) == "OK"
    (text,) = state.inbox.messages["13900000001"]
    assert f"截止时间{deadline}，详见 {LINK}Ab3x9" in text


def test_an_unapproved_template_is_refused_and_the_loader_said_why(
    aliyun: Any, caplog: pytest.LogCaptureFixture
) -> None:
    host, state = aliyun
    logged = "\n".join(r.getMessage() for r in caplog.get_records("setup"))
    for n, name in enumerate(UNAPPROVED):
        assert f"SMS_BAD{n} not approved" in logged, name
        params = {k: "青山镇" for k in ALIYUN_VAR.findall(UNAPPROVED[name])} | {"code": "Ab3"}
        assert send_aliyun(host, f"SMS_BAD{n}", **params) == "isv.SMS_TEMPLATE_ILLEGAL", name
    assert not state.inbox.messages


ALIYUN_REFUSALS = {
    "unknown-template": ({"template": "SMS_999"}, "isv.SMS_TEMPLATE_ILLEGAL"),
    "unknown-sign": ({"sign": "别的镇"}, "isv.SMS_SIGNATURE_ILLEGAL"),
    "missing": ({"org": "青山镇", "title": "公示"}, "isv.TEMPLATE_MISSING_PARAMETERS"),
    "title-over-35": (NOTICE | {"title": "通" * 36}, "isv.PARAM_LENGTH_LIMIT"),
    "empty-title": (NOTICE | {"title": ""}, "isv.PARAM_LENGTH_LIMIT"),
    "time-not-a-time": (
        {"template": "SMS_480100003", **NOTICE, "deadline": "下周找时间"},
        "isv.TEMPLATE_PARAMS_ILLEGAL",
    ),
    "link-with-scheme": (NOTICE | {"code": "https://evil.cn/x"}, "isv.PARAM_NOT_SUPPORT_URL"),
    "link-with-host": (NOTICE | {"code": "www.evil.cn"}, "isv.PARAM_NOT_SUPPORT_URL"),
    "link-deeper-path": (NOTICE | {"code": "s/../x"}, "isv.TEMPLATE_PARAMS_ILLEGAL"),
    "link-with-space": (NOTICE | {"code": "Ab 3"}, "isv.TEMPLATE_PARAMS_ILLEGAL"),
    "url-in-title": (NOTICE | {"title": "详见http://x.cn"}, "isv.PARAM_NOT_SUPPORT_URL"),
    "over-500": (
        {"template": "SMS_LONG", "org": "青山镇", "body": "通" * 490},
        "isv.PARAM_LENGTH_LIMIT",
    ),
}


@pytest.mark.parametrize(("kw", "code"), ALIYUN_REFUSALS.values(), ids=ALIYUN_REFUSALS.keys())
def test_aliyun_refuses_with_the_real_code(aliyun: Any, kw: dict[str, Any], code: str) -> None:
    host, state = aliyun
    kw = dict(kw)
    template, sign = kw.pop("template", "SMS_480100001"), kw.pop("sign", SIGN)
    assert send_aliyun(host, template, sign, **(kw or NOTICE)) == code
    assert not state.inbox.messages


def test_a_batch_with_one_bad_link_is_refused_whole(aliyun: Any) -> None:
    host, state = aliyun
    request = m.SendBatchSmsRequest(
        phone_number_json=json.dumps(["13900000001", "13900000002"]),
        sign_name_json=json.dumps([SIGN, SIGN], ensure_ascii=False),
        template_code="SMS_480100002",
        template_param_json=json.dumps(
            [{"title": "暴雨预警", "code": "Ab3"}, {"title": "暴雨预警", "code": "http://x.cn"}],
            ensure_ascii=False,
        ),
    )
    assert ali.client(host).send_batch_sms(request).body.code == "isv.PARAM_NOT_SUPPORT_URL"
    assert not state.inbox.messages


# Tencent: the suggested account, with unapproved texts in Tencent's {n} spelling.
def tencent_data() -> dict[str, Any]:
    data = _yaml("tencent.yaml")
    bad = {
        "3100001": "{1}",
        "3100002": "{1}{2}，详见 https://gk.example.gov.cn/s/{3}",
        "3100003": "【青山镇】{1}，详见 https://gk.example.gov.cn/s/{2}",
        "3100004": "{1}，详见 https://{2}/s",
        "3100005": "{1}，详见 https://gk.example.gov.cn/s/{2}，拒收请回复R",
    }
    for code, text in bad.items():
        data["templates"][code] = {"text": text}
    data["templates"]["3100009"] = {
        "text": "{1}通知：{2}",
        "variables": {"1": {"max_len": 12}, "2": {"max_len": 500}},
    }
    return data


@pytest.fixture
def tencent() -> Iterator[tuple[str, tencent_sms.TencentSmsState]]:
    account = sms_account("tencent-sms", tencent_data())
    app = tencent_sms.build_app(
        secret_id=ten.SECRET_ID, secret_key=ten.SECRET_KEY, account=account, report_delay=0.01
    )
    with in_thread(app) as base:
        yield base.removeprefix("http://").rstrip("/"), app[tencent_sms.STATE]


T_NOTICE = ["青山镇", "高龄津贴发放公示", "Ab3x9"]


def send_tencent(host: str, params: list[str], template: str = "2100001", **kw: Any) -> str:
    kw = {"sign": SIGN} | kw
    request = ten.send_request(["+8613900000001"], params, **kw, template=template)
    try:
        status = ten.client(host).SendSms(request).SendStatusSet
    except ten.TencentCloudSDKException as exc:
        return str(exc.code)
    return str(status[0].Code)


def test_tencent_good_notice_lands_as_the_resident_reads_it(tencent: Any) -> None:
    host, state = tencent
    assert send_tencent(host, T_NOTICE) == "Ok"
    want = f"【{SIGN}】青山镇发布通知：高龄津贴发放公示，详见 {LINK}Ab3x9"
    assert state.inbox.messages == {"13900000001": [want]}


def test_tencent_refuses_unapproved_templates(tencent: Any) -> None:
    host, state = tencent
    for code, params in (
        ("3100001", ["x"]),
        ("3100002", ["青山镇", "公示", "Ab3"]),
        ("3100003", ["公示", "Ab3"]),
        ("3100004", ["公示", "gk"]),
        ("3100005", ["公示", "Ab3"]),
    ):
        got = send_tencent(host, params, code)
        assert got == "FailedOperation.TemplateIncorrectOrUnapproved", code
    assert not state.inbox.messages


TENCENT_REFUSALS = {
    "unknown-template": (T_NOTICE, {"template": "9999"}, "TemplateIncorrectOrUnapproved"),
    "unknown-sign": (T_NOTICE, {"sign": "别的镇"}, "SignatureIncorrectOrUnapproved"),
    "missing": (T_NOTICE[:2], {}, "FailedOperation.TemplateParamSetNotMatchApprovedTemplate"),
    "extra": ([*T_NOTICE, "村部"], {}, "FailedOperation.TemplateParamSetNotMatchApprovedTemplate"),
    "title-over-20": (
        ["青山镇", "通" * 21, "Ab3"],
        {},
        "InvalidParameterValue.TemplateParameterLengthLimit",
    ),
    "link-with-scheme": (
        ["青山镇", "公示", "http://x.cn"],
        {},
        "InvalidParameterValue.TemplateParameterFormatError",
    ),
    "link-deeper-path": (
        ["青山镇", "公示", "a/b"],
        {},
        "InvalidParameterValue.TemplateParameterFormatError",
    ),
    "url-in-title": (
        ["青山镇", "见www.x.cn", "Ab3"],
        {},
        "InvalidParameterValue.TemplateParameterFormatError",
    ),
    "over-500": (
        ["青山镇", "通" * 495],
        {"template": "3100009"},
        "InvalidParameterValue.ContentLengthLimit",
    ),
}


@pytest.mark.parametrize(
    ("params", "kw", "code"), TENCENT_REFUSALS.values(), ids=TENCENT_REFUSALS.keys()
)
def test_tencent_refuses_with_the_real_code(
    tencent: Any, params: list[str], kw: dict[str, Any], code: str
) -> None:
    host, state = tencent
    kw = dict(kw)
    template = kw.pop("template", "2100001")
    got = send_tencent(host, params, template, **kw)
    assert got == code or got == f"FailedOperation.{code}"
    assert not state.inbox.messages
