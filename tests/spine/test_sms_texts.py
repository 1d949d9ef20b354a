"""What a push's SMS entry holds for a template account, and what dispatch does with it."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from pathlib import Path

import pytest

from channels.aliyun_sms import AliyunSmsChannel, AliyunSmsSettings
from channels.base import ChannelKind
from channels.sandbox import SandboxChannel
from channels.sms_templates import Registry, load_registry
from pusher.models import Item, Urgency
from pusher.pipeline.claims import Claimed
from pusher.pipeline.dispatch import _message, _parts, no_template
from pusher.pipeline.shared_numbers import named
from pusher.pipeline.texts import sms_registry, texts_for

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", SyntaxWarning)
    import jieba

DOCS = Path(__file__).resolve().parents[2] / "docs" / "sms-templates"
PUBLIC = "https://gk.example.gov.cn"


@pytest.fixture(scope="module")
def tokenizer() -> jieba.Tokenizer:
    tk = jieba.Tokenizer()
    tk.initialize()
    return tk


def registry(**inline: object) -> Registry:
    found = load_registry(
        "aliyun", "aliyun", file="" if inline else str(DOCS / "aliyun.yaml"), inline=inline
    )
    assert found is not None
    return found


def item(**values: object) -> Item:
    data: dict[str, object] = {
        "id": 1234,
        "title": "关于城乡居民医保集中缴费的通知",
        "body": "请于2026年12月31日前到村委会缴纳城乡居民医保，每人380元。",
        "publisher": "青山镇人民政府",
        "region_id": 1,
        "urgency": Urgency.NORMAL,
        "published_at": datetime(2026, 12, 1, tzinfo=UTC),
    }
    return Item(**(data | values))


def texts(tokenizer: jieba.Tokenizer, reg: Registry | None, **values: object) -> dict:  # type: ignore[type-arg]
    return texts_for(
        item(**values),
        tokenizer=tokenizer,
        public_url=PUBLIC,
        signature="青山镇人民政府",
        max_segments=1,
        wechat_fields={"thing1": "thing"},
        sms_templates=reg,
    )


def test_a_template_account_gets_the_filled_template(tokenizer: jieba.Tokenizer) -> None:
    sms = texts(tokenizer, registry())["sms"]
    assert sms["template"] == "SMS_480100003"  # a dated deadline
    assert sms["params"]["deadline"] == "2026年12月31日"
    assert sms["params"]["code"] == "ya"  # item 1234 in base 36
    assert sms["text"] == (
        "【青山镇人民政府】青山镇人民政府提醒：城乡居民医保集中缴费，截止时间2026年12月31日，"
        "详见 https://gk.example.gov.cn/s/ya"
    )
    assert all(v["chars"] <= v["max"] for v in sms["variables"])
    assert "content" not in sms["params"] and "error_code" not in sms
    message = _message(Claimed(7, "13900000001", None, 1, unknown_outcome=False), _parts(sms))
    assert message.template == "SMS_480100003" and message.params == sms["params"]


def test_a_free_text_account_keeps_the_summary(tokenizer: jieba.Tokenizer) -> None:
    sms = texts(tokenizer, None)["sms"]
    assert "template" not in sms and sms["text"].endswith("https://gk.example.gov.cn/s/ya")


def test_an_item_no_template_fits_is_marked_and_never_sent(tokenizer: jieba.Tokenizer) -> None:
    only_urgent = registry(U={"purpose": "urgent", "text": "紧急：${title}。"})
    sms = texts(tokenizer, only_urgent)["sms"]
    assert sms["error_code"] == "no_template" and sms["template"] == "" and sms["params"] == {}
    assert sms["reason"] == "没有适用于截止提醒的短信模板；没有适用于一般通知的短信模板"
    channel = AliyunSmsChannel(AliyunSmsSettings(), session=None, templates=only_urgent)  # type: ignore[arg-type]
    refused = no_template(channel, sms)
    assert refused is not None and refused.code == "no_template"
    assert refused.message == sms["reason"]
    # a push planned before the registry was set up has no template either: refused too
    assert no_template(channel, {"text": "【青山镇】通知", "params": {"content": "通知"}})
    # a free-text channel sends the summary as always
    assert no_template(SandboxChannel(ChannelKind.SMS, sink=None), sms) is None  # type: ignore[arg-type]


def test_the_registry_in_use_is_the_sms_channels(tokenizer: jieba.Tokenizer) -> None:
    reg = registry()
    channel = AliyunSmsChannel(AliyunSmsSettings(), session=None, templates=reg)  # type: ignore[arg-type]
    assert sms_registry({ChannelKind.SMS: channel}) is reg
    sandbox = SandboxChannel(ChannelKind.SMS, sink=None)  # type: ignore[arg-type]
    assert sms_registry({ChannelKind.SMS: sandbox}) is None


def test_a_shared_number_is_named_in_the_title_variable(tokenizer: jieba.Tokenizer) -> None:
    sms = texts(tokenizer, registry())["sms"]
    out = named(sms, "张三、李四")
    assert out["params"]["title"] == "致张三、李四：城乡居民医保集中缴费"
    assert "：致张三、李四：城乡居民医保集中缴费，" in out["text"]
    crowd = named(sms, "、".join(["欧阳某某"] * 8))  # over the title's 35: unchanged
    assert crowd["params"] == sms["params"] and crowd["text"] == sms["text"]
