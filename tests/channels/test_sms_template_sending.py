"""Aliyun and Tencent send pushes through approved templates, against emulators whose
account holds only the suggested templates (docs/sms-templates/*.yaml)."""

from __future__ import annotations

import json

import aiohttp
from pydantic import SecretStr

from channels.aliyun_sms import AliyunSmsChannel, AliyunSmsSettings, registry_of
from channels.base import Accepted, Message, Rejected
from channels.emulators import aliyun_sms as aliyun_emu
from channels.emulators import tencent_sms as tencent_emu
from channels.tencent_sms import TencentSmsChannel, TencentSmsSettings
from tests.suggested import DOCS, suggested_account

SIGN = "青山镇人民政府"


def phone(i: int) -> str:
    return f"1390000{i:04d}"


NOTICE = {"org": "青山镇", "title": "城乡居民医保开始缴费", "code": "2bx"}
URGENT = {"title": "暴雨红色预警", "code": "2by"}


async def aliyun(http: aiohttp.ClientSession, serve: object) -> tuple[AliyunSmsChannel, object]:
    app = aliyun_emu.build_app(account=suggested_account("aliyun"))
    settings = AliyunSmsSettings(
        access_key_id="emulator-key",
        access_key_secret=SecretStr("emulator-secret"),
        sign_name=SIGN,
        base_url=await serve(app),  # type: ignore[operator]
        templates_file=str(DOCS / "aliyun.yaml"),
    )
    channel = AliyunSmsChannel(settings, session=http, templates=registry_of(settings))
    return channel, app[aliyun_emu.STATE]


async def test_aliyun_sends_each_message_with_its_template_and_batches_the_same_text(
    http: aiohttp.ClientSession, serve: object
) -> None:
    channel, state = await aliyun(http, serve)
    same = [Message(f"n{i}", phone(i), "", NOTICE, template="SMS_480100001") for i in range(1500)]
    urgent = [Message(f"u{i}", phone(i), "", URGENT, template="SMS_480100002") for i in range(3)]
    outcomes = await channel.send([*same, *urgent])
    assert all(isinstance(o, Accepted) for o in outcomes)
    calls = state.calls  # type: ignore[attr-defined]
    # 1500 alike: two SendSms calls (1000 + 500); the 3 urgent ones one more
    assert sorted((c["action"], c["numbers"]) for c in calls) == [
        ("SendSms", 3),
        ("SendSms", 500),
        ("SendSms", 1000),
    ]
    inbox = state.inbox.messages  # type: ignore[attr-defined]
    assert inbox[phone(1)] == [
        "【青山镇人民政府】青山镇发布通知：城乡居民医保开始缴费，详见 https://gk.example.gov.cn/s/2bx",
        "【青山镇人民政府】紧急提醒：暴雨红色预警，请及时防范，详见 https://gk.example.gov.cn/s/2by",
    ]
    # the look-up after a lost answer still finds a template message by its values
    found = await channel.lookup(
        [same[1], Message("x", phone(1), "", NOTICE | {"code": "zz"}, template="SMS_480100001")]
    )
    assert isinstance(found[0], Accepted) and found[0].provider_id == outcomes[1].provider_id
    assert found[1] is None


async def test_aliyun_over_limit_and_free_text_are_refused_by_the_strict_account(
    http: aiohttp.ClientSession, serve: object
) -> None:
    channel, _ = await aliyun(http, serve)
    long_title = NOTICE | {"title": "通" * 36}
    over = await channel.send([Message("a", phone(1), "", long_title, template="SMS_480100001")])
    assert isinstance(over[0], Rejected) and over[0].error.code == "isv.PARAM_LENGTH_LIMIT"
    free = await channel.send([Message("b", phone(2), "整条通知作为一个变量")])
    assert isinstance(free[0], Rejected)  # no template named, none by default: not sent
    assert free[0].error.code == "no_template"


async def test_tencent_sends_numbered_variables_in_order_with_its_template(
    http: aiohttp.ClientSession, serve: object
) -> None:
    app = tencent_emu.build_app(account=suggested_account("tencent"))
    settings = TencentSmsSettings(
        secret_id="emulator-key",
        secret_key=SecretStr("emulator-secret"),
        sdk_app_id="1400000001",
        sign_name=SIGN,
        base_url=await serve(app),  # type: ignore[operator]
        templates_file=str(DOCS / "tencent.yaml"),
    )
    channel = TencentSmsChannel(settings, session=http)
    params = {"3": "12月31日", "1": "青山镇", "4": "2bx", "2": "医保缴费"}
    notice = {"1": "青山镇", "2": "村务公开", "3": "2bz"}
    msgs = [
        *(Message(f"d{i}", phone(i), "", params, template="2100003") for i in range(250)),
        Message("n", phone(0), "", notice, template="2100001"),
    ]
    outcomes = await channel.send(msgs)
    assert all(isinstance(o, Accepted) for o in outcomes), outcomes[:2]
    state = app[tencent_emu.STATE]
    numbers = sorted(c["numbers"] for c in state.calls)  # ≤200 and SessionContext ≤500 bytes
    assert numbers[0] == 1 and sum(numbers) == 251 and max(numbers) <= 200
    assert state.inbox.messages[phone(0)] == [
        "【青山镇人民政府】青山镇提醒：医保缴费，截止时间12月31日，详见 https://gk.example.gov.cn/s/2bx",
        "【青山镇人民政府】青山镇发布通知：村务公开，详见 https://gk.example.gov.cn/s/2bz",
    ]
    too_long = await channel.send(
        [Message("t", phone(9), "", notice | {"2": "通" * 21}, template="2100001")]
    )
    assert isinstance(too_long[0], Rejected)
    assert json.dumps(too_long[0].error.code)
