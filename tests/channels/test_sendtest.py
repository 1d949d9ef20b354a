"""``pusher send-test`` against the emulators: what an office sees for each answer."""

from __future__ import annotations

from typing import Any

import pytest

from channels.emulators import aliyun_sms as aliyun_emu
from channels.emulators import tencent_sms as tencent_emu
from channels.emulators import wechat as wechat_emu
from channels.emulators import wecom as wecom_emu
from channels.emulators.common import Faults
from channels.wecom import WeComSettings
from pusher.cli.sendtest import send_test
from pusher.settings import Settings
from tests.channels.rigs import (
    ALIYUN_ACCOUNT,
    SECRET,
    aliyun_settings,
    tencent_settings,
    wechat_settings,
)
from tests.conftest import Serve

PHONE = "13912345678"


def settings(**kwargs: Any) -> Settings:
    return Settings(_env_file=None, **kwargs)


async def test_accepted_wechat_message_shows_its_msgid(serve: Serve) -> None:
    app = wechat_emu.build_app(app_id="wx-rig", app_secret=SECRET)
    s = settings(wechat=wechat_settings(await serve(app)))
    code, report = await send_test(s, "wechat", "oTester01", "配置测试")
    [sent] = app[wechat_emu.STATE].sent.values()
    assert code == 0
    assert report == f"已受理：wechat 消息编号 {sent.msgid}"
    assert sent.openid == "oTester01" and "配置测试" in sent.text


async def test_wrong_wechat_secret_is_reported_as_a_configuration_error(serve: Serve) -> None:
    app = wechat_emu.build_app(app_id="wx-rig", app_secret=SECRET)
    s = settings(wechat=wechat_settings(await serve(app), secret="wrong"))
    code, report = await send_test(s, "wechat", "oTester01", "配置测试")
    assert code == 1
    assert "配置错误" in report
    assert "错误码：40125（AppSecret 无效，请检查公众号配置）" in report
    assert app[wechat_emu.STATE].inbox.total() == 0


async def test_accepted_sms_arrives_through_the_notice_template(serve: Serve) -> None:
    app = aliyun_emu.build_app(
        access_key_id="rig-key", access_key_secret=SECRET, account=ALIYUN_ACCOUNT
    )  # strict: only the suggested templates
    s = settings(aliyun_sms=aliyun_settings(await serve(app)))
    code, report = await send_test(s, "aliyun-sms", PHONE, "")
    assert code == 0 and report.startswith("已受理：aliyun 消息编号 "), report
    assert report.endswith("\n短信模式：模板短信（须使用已审核模板）"), report
    [text] = app[aliyun_emu.STATE].inbox.messages[PHONE]
    assert text == (
        "【青山镇】青山镇发布通知：政务信息推送测试消息，收到即说明配置正确，无需回复。，"
        "详见 https://gk.example.gov.cn/s/test"
    )


async def test_a_template_account_without_its_templates_is_not_sent_to(serve: Serve) -> None:
    app = aliyun_emu.build_app(access_key_id="rig-key", access_key_secret=SECRET)
    bare = aliyun_settings(await serve(app)).model_copy(update={"templates_file": ""})
    code, report = await send_test(settings(aliyun_sms=bare), "aliyun-sms", PHONE, "")
    assert code == 2 and "PUSHER_ALIYUN_SMS__TEMPLATES_FILE" in report
    assert app[aliyun_emu.STATE].inbox.total() == 0


async def test_throttled_sms_is_transient(serve: Serve) -> None:
    app = aliyun_emu.build_app(
        access_key_id="rig-key", access_key_secret=SECRET, faults=Faults(throttle=1.0)
    )
    s = settings(aliyun_sms=aliyun_settings(await serve(app)))
    code, report = await send_test(s, "aliyun-sms", PHONE, "测试")
    assert code == 1
    assert "暂时性错误" in report and "错误码：Throttling.User（请求被限流）" in report


async def test_bad_number_is_permanent_for_that_recipient(serve: Serve) -> None:
    app = tencent_emu.build_app(secret_id="rig-id", secret_key=SECRET)
    s = settings(tencent_sms=tencent_settings(await serve(app)))
    code, report = await send_test(s, "tencent-sms", "12345", "测试")
    assert code == 1
    assert "永久性错误" in report
    assert "InvalidParameterValue.IncorrectPhoneNumber（手机号码格式错误）" in report


async def test_unknown_robot_key_is_reported(serve: Serve) -> None:
    app = wecom_emu.build_app(keys={"00000000-0000-4000-8000-000000000001"})
    s = settings(wecom=WeComSettings(base_url=await serve(app)))
    code, report = await send_test(s, "wecom", "00000000-0000-4000-8000-000000000002", "测试")
    assert code == 1 and "93000" in report and "webhook" in report
    assert "短信模式" not in report  # not an SMS provider
    ok, _ = await send_test(s, "wecom", "00000000-0000-4000-8000-000000000001", "测试")
    assert ok == 0


@pytest.mark.parametrize(
    ("channel", "hint"),
    [
        ("wechat", "PUSHER_WECHAT__APP_SECRET"),
        ("aliyun-sms", "PUSHER_ALIYUN_SMS__SIGN_NAME"),
        ("tencent-sms", "PUSHER_TENCENT_SMS__SDK_APP_ID"),
        ("telegram", "wechat、wecom、aliyun-sms、tencent-sms"),
    ],
)
async def test_unconfigured_channel_exits_2_and_names_what_to_set(channel: str, hint: str) -> None:
    code, report = await send_test(settings(), channel, PHONE, "测试")
    assert code == 2
    assert hint in report
