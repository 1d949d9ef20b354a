"""Every WeChat template payload pusher would send passes the service's field rules.

Over every demo item and every notice of the shared sample: with the default fields
every field is filled validly; with fields of every type, a payload either passes the
rules or is not sent as fields at all (the text fallback, ``field_problems``). The rules
below are written from the subscription-message docs' 参数类型 table (subscribeMessage.send),
not taken from pusher's builder.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pusher.demo.items import SAMPLES
from pusher.models import Item, Urgency
from pusher.pipeline.texts import texts_for
from pusher.settings import DispatchSettings
from pusher.summary import Notice, field_problems, render_wechat_fields, summarize

if TYPE_CHECKING:
    import jieba

SAMPLE = Path("/work/shared/data/notices_sample.jsonl")
HAN = r"[\u4e00-\u9fff]"
_DAY = r"(\d{4})年(\d{1,2})月(\d{1,2})日"
_CLOCK = r"(\d{1,2}):(\d{2})(?::(\d{2}))?"


def _point(text: str) -> bool:
    """A date (年月日) and/or a 24-hour time that exist."""
    m = re.fullmatch(rf"(?:{_DAY})?(?: ?{_CLOCK})?", text)
    if m is None or not text.strip() or text != text.strip():
        return False
    try:
        if m[1]:
            dt.date(int(m[1]), int(m[2]), int(m[3]))
        if m[4]:
            dt.time(int(m[4]), int(m[5]), int(m[6] or 0))
    except ValueError:
        return False
    return True


RULES = {
    "thing": lambda v: 0 < len(v) <= 20,
    "number": lambda v: len(v) <= 32 and re.fullmatch(r"\d+(\.\d+)?", v) is not None,
    "character_string": lambda v: 0 < len(v) <= 32 and re.fullmatch(r"[\x21-\x7e]+", v),
    "time": lambda v: all(_point(p) for p in v.split("~")) and v.count("~") <= 1,
    "date": lambda v: all(_point(p) for p in v.split("~")) and v.count("~") <= 1,
    "amount": lambda v: re.fullmatch(r"[¥￥$]?\d{1,10}(\.\d{1,2})?元?", v) is not None,
    "phone_number": lambda v: 0 < len(v) <= 17 and re.fullmatch(r"[\d+\-]+", v),
    "name": lambda v: 0 < len(v) <= (10 if re.search(HAN, v) else 20),
    "phrase": lambda v: re.fullmatch(rf"{HAN}{{1,5}}", v) is not None,
}
EVERY_KIND = {
    "thing1": "thing",
    "time2": "time",
    "thing3": "thing",
    "phrase4": "phrase",
    "date5": "date",
    "name6": "name",
    "amount7": "amount",
    "number8": "number",
    "phone_number9": "phone_number",
    "character_string10": "character_string",
}
#: kinds pusher can always fill from any notice
ALWAYS = {"thing", "time", "date", "phrase"}


def _notices() -> list[tuple[str, Notice]]:
    out = [
        (f"demo-{n}", Notice(title=s.title, body=s.body, urgency=s.urgency.value))
        for n, s in enumerate(SAMPLES)
    ]
    with SAMPLE.open(encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            urgent = record["id"].startswith("qwd-")
            notice = Notice(
                title=record["title"],
                body=record["body"],
                publisher=record.get("issuer") or "",
                urgency="urgent" if urgent else "normal",
            )
            out.append((record["id"], notice))
    return out


def _refused(fields: dict[str, str], values: dict[str, str]) -> list[str]:
    return [k for k, kind in fields.items() if not RULES[kind](values.get(k, ""))]


@pytest.mark.skipif(not SAMPLE.is_file(), reason="the shared sample is not on this machine")
def test_every_payload_passes_the_field_rules(tokenizer: jieba.Tokenizer) -> None:
    defaults = DispatchSettings().wechat_template_fields
    notices = _notices()
    assert len(notices) >= 337 + len(SAMPLES)
    fallbacks = 0
    for name, notice in notices:
        summary = summarize(notice, tokenizer=tokenizer)
        today = dt.date(2026, 12, 6)
        plain = render_wechat_fields(summary, fields=defaults, tokenizer=tokenizer, today=today)
        assert not _refused(defaults, plain), (name, plain)
        assert not field_problems(defaults, plain), name
        every = render_wechat_fields(summary, fields=EVERY_KIND, tokenizer=tokenizer, today=today)
        problems = field_problems(EVERY_KIND, every)
        assert not {EVERY_KIND[k] for k in problems} & ALWAYS, (name, every)
        if problems:
            fallbacks += 1  # sent as the text fallback, not as these fields
            assert set(_refused(EVERY_KIND, every)) <= set(problems), (name, every)
        else:
            assert not _refused(EVERY_KIND, every), (name, every)
    assert fallbacks  # the sample has notices without a phone or a sum


def test_an_undated_item_gets_its_publishing_or_todays_date(tokenizer: jieba.Tokenizer) -> None:
    bare = Notice(title="村务公开", body="本村财务收支情况公开。")
    out = render_wechat_fields(
        summarize(bare, tokenizer=tokenizer),
        fields={"time2": "time"},
        tokenizer=tokenizer,
        today=dt.date(2026, 12, 6),
    )
    assert out == {"time2": "2026年12月6日"}


def test_a_day_that_does_not_exist_is_not_sent(tokenizer: jieba.Tokenizer) -> None:
    odd = Notice(
        title="补贴申报", body="请于2026年2月30日前申报。", published_at=dt.date(2026, 2, 1)
    )
    out = render_wechat_fields(
        summarize(odd, tokenizer=tokenizer), fields={"time2": "time"}, tokenizer=tokenizer
    )
    assert RULES["time"](out["time2"]), out


def test_an_item_that_cannot_fill_a_field_goes_as_the_text_fallback(
    tokenizer: jieba.Tokenizer,
) -> None:
    item = Item(id=42, title="村务公开", body="本村财务收支情况公开。", publisher="青山镇")
    item.urgency = Urgency.NORMAL
    fields = {"thing1": "thing", "time2": "time", "phone_number3": "phone_number"}
    texts = texts_for(
        item,
        tokenizer=tokenizer,
        public_url="https://gk.example.gov.cn",
        signature="青山镇人民政府",
        max_segments=1,
        wechat_fields=fields,
    )
    assert texts["wechat"]["params"] == {}  # no phone in the notice: no 47003-bait
    assert texts["wechat"]["unfilled"] == ["phone_number3"]
    assert "村务公开" in texts["wechat"]["text"]
    filled = texts_for(
        item,
        tokenizer=tokenizer,
        public_url="https://gk.example.gov.cn",
        signature="青山镇人民政府",
        max_segments=1,
        wechat_fields={"thing1": "thing", "time2": "time"},
    )
    assert not _refused({"thing1": "thing", "time2": "time"}, filled["wechat"]["params"])
