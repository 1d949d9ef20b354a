"""Every SMS provider's descriptor says what its account lets us send (issue 18).

Expectations are written out here, from what each provider is: commercial
providers send approved templates only, carrier gateways and the sandbox any text.
"""

from __future__ import annotations

from channels import registry
from channels.base import ChannelKind
from channels.descriptor import SmsMode

EXPECTED = {
    "wechat": None,
    "wecom": None,
    "aliyun": SmsMode.TEMPLATE,
    "tencent": SmsMode.TEMPLATE,
    "cmpp": SmsMode.FREE_TEXT,
    "sandbox": SmsMode.FREE_TEXT,
}


def test_each_provider_declares_its_sms_mode() -> None:
    assert {p.name: p.sms_mode for p in registry.PROVIDERS} == EXPECTED


def test_every_sms_provider_has_a_mode_and_no_other_kind_has_one() -> None:
    for p in registry.PROVIDERS:
        if p.kind is ChannelKind.SMS:
            assert p.sms_mode is not None, p.name
        elif p.kind is not None:
            assert p.sms_mode is None, p.name


def test_the_modes_are_the_words_the_templates_issue_will_read() -> None:
    assert [m.value for m in SmsMode] == ["template", "free_text"]
