"""WeChat template fields: what goes where, and every value within its type's limit."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pytest

from pusher.summary import (
    Notice,
    UnknownFieldTypeError,
    field_fits,
    render_wechat_fields,
    summarize,
)

if TYPE_CHECKING:
    import jieba

FIELDS = {
    "thing1": "thing",
    "time2": "time",
    "thing3": "thing",
    "amount4": "amount",
    "phrase5": "phrase",
    "phone_number6": "phone_number",
    "name7": "name",
    "character_string8": "character_string",
    "number9": "number",
}


def test_gaoling_fields(gaoling: Notice, tokenizer: jieba.Tokenizer) -> None:
    summary = summarize(gaoling, tokenizer=tokenizer)
    out = render_wechat_fields(summary, fields=FIELDS, tokenizer=tokenizer)
    assert out == {
        "thing1": "发放2024年高龄津贴",
        "time2": "2024年3月31日",
        "thing3": "年满80周岁的老年人",
        "amount4": "200元",
        "phrase5": "限期办理",
        "phone_number6": "0791-12345678",
        "name7": "某某镇人民政府",
        "character_string8": "0791-12345678",
        "number9": "200",
    }


def test_urgent_fields(baoyu: Notice, tokenizer: jieba.Tokenizer) -> None:
    summary = summarize(baoyu, tokenizer=tokenizer)
    out = render_wechat_fields(summary, fields=FIELDS, tokenizer=tokenizer)
    assert out["phrase5"] == "红色预警"
    assert out["time2"] == "2024年6月16日 08:30"
    assert all(field_fits(FIELDS[key], value) for key, value in out.items())


def test_range_end_and_publish_date(yibao: Notice, tokenizer: jieba.Tokenizer) -> None:
    summary = summarize(yibao, tokenizer=tokenizer)
    out = render_wechat_fields(summary, fields={"time1": "time"}, tokenizer=tokenizer)
    assert out == {"time1": "2024年12月31日"}
    undated = Notice(
        title="村务公开", body="本村2024年第一季度财务收支情况。", published_at=dt.date(2024, 4, 2)
    )
    out = render_wechat_fields(
        summarize(undated, tokenizer=tokenizer), fields={"date1": "date"}, tokenizer=tokenizer
    )
    assert out == {"date1": "2024年4月2日"}


def test_long_values_are_cut_to_limit(tokenizer: jieba.Tokenizer) -> None:
    notice = Notice(
        title="关于进一步做好全镇农村低收入人口常态化帮扶和防止规模性返贫动态监测工作的通知",
        body="各村：请于2024年6月30日前完成。每户每年补助1.5万元。",
        publisher="广东省人力资源和社会保障厅",
    )
    out = render_wechat_fields(
        summarize(notice, tokenizer=tokenizer), fields=FIELDS, tokenizer=tokenizer
    )
    assert len(out["thing1"]) <= 20 and out["thing1"].endswith("…")
    assert out["name7"] == "人力资源和社会保障厅"
    assert out["amount4"] == "15000元"
    assert all(field_fits(FIELDS[key], value) for key, value in out.items())


@pytest.mark.parametrize(
    ("kind", "value", "fits"),
    [
        ("thing", "字" * 20, True),
        ("thing", "字" * 21, False),
        ("phrase", "红色预警", True),
        ("phrase", "暴雨红色预警", False),
        ("phrase", "A级", False),
        ("character_string", "0791-12345678", True),
        ("character_string", "编号123", False),
        ("amount", "200元", True),
        ("amount", "每人200元", False),
        ("phone_number", "0" * 18, False),
        ("name", "某" * 11, False),
        ("name", "a" * 20, True),
    ],
)
def test_field_fits(kind: str, value: str, fits: bool) -> None:
    assert field_fits(kind, value) is fits


def test_unknown_type(gaoling: Notice, tokenizer: jieba.Tokenizer) -> None:
    summary = summarize(gaoling, tokenizer=tokenizer)
    with pytest.raises(UnknownFieldTypeError):
        render_wechat_fields(summary, fields={"x1": "colour"}, tokenizer=tokenizer)
