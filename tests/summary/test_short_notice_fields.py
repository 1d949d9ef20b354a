"""Staff notices and test messages fill WeChat template fields the service accepts, or
none at all (the text fallback), never a payload answered with 47003."""

from __future__ import annotations

import datetime as dt
import re

from pusher.cli.sendtest import probe_message
from pusher.settings import Settings
from pusher.summary.wechat import short_notice_fields

NOW = dt.datetime(2026, 12, 6, 9, 5, tzinfo=dt.timezone(dt.timedelta(hours=8)))
# the subscription-message rules (参数类型): thing ≤ 20 characters, time a real date/time
DATE_TIME = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日 \d{1,2}:\d{2}")
LONG = "关于做好二〇二六年冬季森林防火和城乡居民用电安全工作的紧急通知请各村立即转发"


def test_default_fields_are_filled_within_each_types_rule() -> None:
    fields = {"thing1": "thing", "time2": "time", "thing3": "thing"}
    values = short_notice_fields(fields, ["您有 3 条信息待审核", LONG], NOW)
    assert set(values) == set(fields)
    assert len(values["thing1"]) <= 20 and len(values["thing3"]) <= 20
    assert values["thing3"] and DATE_TIME.fullmatch(values["time2"])


def test_a_field_that_cannot_be_filled_sends_no_fields() -> None:
    for kind in ("phrase", "number", "amount", "phone_number", "keyword"):
        fields = {"thing1": "thing", "x2": kind}
        assert short_notice_fields(fields, ["待审核", LONG], NOW) == {}, kind


def test_send_test_probe_has_valid_fields_or_none() -> None:
    settings = Settings()
    settings.dispatch.wechat_template_fields = {"thing1": "thing", "phrase2": "phrase"}
    assert probe_message(settings, "wechat", "o1", LONG).params == {}
    settings.dispatch.wechat_template_fields = {"thing1": "thing", "time2": "time"}
    params = probe_message(settings, "wechat", "o1", LONG).params
    assert len(params["thing1"]) <= 20 and DATE_TIME.fullmatch(params["time2"])
