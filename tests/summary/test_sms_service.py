"""Service SMS (binding codes, staff notices, answers) go through their approved templates,
against the strict emulators whose accounts hold the suggested templates
(docs/sms-templates/*.yaml); with the purpose missing they are refused locally."""

from __future__ import annotations

import dataclasses
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from channels.aliyun_sms import AliyunSmsChannel, AliyunSmsSettings
from channels.aliyun_sms import registry_of as aliyun_registry
from channels.base import Accepted, Channel, ChannelKind, Message, PermanentError, Rejected
from channels.emulators import aliyun_sms as aliyun_emu
from channels.emulators import tencent_sms as tencent_emu
from channels.sms_templates import Registry
from channels.tencent_sms import TencentSmsChannel, TencentSmsSettings
from channels.tencent_sms import registry_of as tencent_registry
from pusher.staff.notify import Outbox
from pusher.staff.notify import _send as staff_send
from pusher.staff.waiting import Notice
from pusher.summary.sms_service import service_message
from tests.suggested import DOCS, suggested_account

SIGN = "青山镇人民政府"
PHONE = "13900001234"

#: purpose → (values the caller gives, the text the resident reads after the signature)
CASES: dict[str, dict[str, Any]] = {
    "code": {
        "values": {"code": "485586"},
        "aliyun": "验证码485586，用于绑定政务通知，5分钟内有效。如非本人操作请忽略。",
        "tencent": "485586为您的验证码，用于绑定政务通知，请于5分钟内填写。"
        "如非本人操作，请忽略本短信。",
    },
    "staff": {
        # 【】 dropped, the page only its first segment (link_param takes no "/")
        "values": {"org": "青山镇人民政府", "what": "【紧急】待领导审批", "page": "/items/42"},
        "aliyun": "青山镇人民政府政务信息推送：您有一项紧急待领导审批待处理，"
        "请登录后台办理 https://gk.example.gov.cn/items",
        "tencent": "青山镇人民政府政务信息推送：您有一项紧急待领导审批待处理，"
        "请登录后台办理 https://gk.example.gov.cn/items",
    },
    "answer": {
        "values": {"org": "东山村第1网格", "page": "contact"},
        "aliyun": "东山村第1网格已回复您的留言，请查看 https://gk.example.gov.cn/wx/contact",
        "tencent": "东山村第1网格已回复您的留言，请查看 https://gk.example.gov.cn/wx/contact",
    },
}


async def _channel(
    style: str, http: aiohttp.ClientSession, serve: Any, without: str = ""
) -> tuple[Channel, Any]:
    """A channel on the strict emulator; its registry without purpose ``without``."""
    registry: Registry
    channel: Channel
    if style == "aliyun":
        app = aliyun_emu.build_app(account=suggested_account("aliyun"))
        a = AliyunSmsSettings(
            access_key_id="emulator-key",
            access_key_secret=SecretStr("emulator-secret"),
            sign_name=SIGN,
            base_url=await serve(app),
            templates_file=str(DOCS / "aliyun.yaml"),
        )
        registry = _without(aliyun_registry(a), without)
        channel = AliyunSmsChannel(a, session=http, templates=registry)
        return channel, app[aliyun_emu.STATE]
    app = tencent_emu.build_app(account=suggested_account("tencent"))
    t = TencentSmsSettings(
        secret_id="emulator-key",
        secret_key=SecretStr("emulator-secret"),
        sdk_app_id="1400000001",
        sign_name=SIGN,
        base_url=await serve(app),
        templates_file=str(DOCS / "tencent.yaml"),
    )
    registry = _without(tencent_registry(t), without)
    channel = TencentSmsChannel(t, session=http, templates=registry)
    return channel, app[tencent_emu.STATE]


def _without(registry: Registry, purpose: str) -> Registry:
    kept = tuple(t for t in registry.templates if t.purpose != purpose)
    return dataclasses.replace(registry, templates=kept)


@pytest.mark.parametrize("style", ["aliyun", "tencent"])
@pytest.mark.parametrize("purpose", list(CASES))
async def test_service_sms_goes_through_its_template_within_every_rule(
    style: str, purpose: str, http: aiohttp.ClientSession, serve: Any
) -> None:
    channel, state = await _channel(style, http, serve)
    case = CASES[purpose]
    built = service_message(
        channel, purpose, key="k1", recipient=PHONE, text="自由文本", values=case["values"]
    )
    assert isinstance(built, Message), built
    template = channel.templates.get(built.template)  # type: ignore[attr-defined]
    assert template is not None and template.purpose == purpose
    assert template.problems(built.params) == []
    outcome = (await channel.send([built]))[0]
    assert isinstance(outcome, Accepted), outcome  # the strict emulator checks every rule
    assert state.inbox.messages[PHONE] == [f"【{SIGN}】{case[style]}"]


@pytest.mark.parametrize("style", ["aliyun", "tencent"])
@pytest.mark.parametrize("purpose", list(CASES))
async def test_without_the_purpose_it_is_refused_locally(
    style: str, purpose: str, http: aiohttp.ClientSession, serve: Any
) -> None:
    channel, _state = await _channel(style, http, serve, without=purpose)
    built = service_message(
        channel,
        purpose,
        key="k1",
        recipient=PHONE,
        text="自由文本",
        values=CASES[purpose]["values"],
    )
    assert isinstance(built, PermanentError) and built.code == "no_template"
    assert "短信模板" in built.message  # no call can follow: the staff notice test sends one


async def test_a_value_that_cannot_fit_is_refused_not_cut(
    http: aiohttp.ClientSession, serve: Any
) -> None:
    channel, _state = await _channel("aliyun", http, serve)
    built = service_message(
        channel, "staff", key="k", recipient=PHONE, text="", values={"org": "青山镇", "what": "x"}
    )
    assert isinstance(built, PermanentError) and built.code == "no_template"  # no page


async def test_staff_notice_by_sms_is_recorded_no_template_without_its_template(
    http: aiohttp.ClientSession, serve: Any
) -> None:
    notice = Notice("review:1", 1, (1,), "待领导审批", "信息「x」等待您领导审批", "/items/1")
    for without, expected in (("", None), ("staff", "no_template")):
        channel, state = await _channel("aliyun", http, serve, without=without)
        outbox = Outbox(channels={ChannelKind.SMS: channel}, public_url="https://x", org="青山镇")
        user = type("U", (), {"openid": None, "phone": PHONE})()
        used, error = await staff_send(outbox, notice, user, 7, ChannelKind.SMS.value)
        assert (used, error) == ("sms", expected)
        assert len(state.calls) == (0 if expected else 1)


@pytest.mark.parametrize("style", ["aliyun", "tencent"])
async def test_the_default_template_never_takes_the_text_as_one_variable(
    style: str, http: aiohttp.ClientSession, serve: Any
) -> None:
    channel, state = await _channel(style, http, serve)
    default = {"aliyun": "template_code", "tencent": "template_id"}[style]
    code = {"aliyun": "SMS_480100001", "tencent": "2100001"}[style]
    channel._settings = channel._settings.model_copy(update={default: code})  # type: ignore[attr-defined]
    whole = "整条通知作为一个变量"
    unnamed = {"aliyun": {"org": "青山镇", "title": whole, "code": "2bx"}, "tencent": {"1": whole}}
    outcomes = await channel.send(
        [
            Message("k", PHONE, whole),  # the text alone
            Message("k2", PHONE, whole, params={"content": whole}),  # as the default's variable
            Message("k3", PHONE, whole, params=unnamed[style]),  # filled, but no template named
            Message("k4", PHONE, whole, params={"1": whole}, template="SMS_NOT_APPROVED"),
        ]
    )
    assert all(isinstance(o, Rejected) and o.error.code == "no_template" for o in outcomes)
    assert state.calls == []
