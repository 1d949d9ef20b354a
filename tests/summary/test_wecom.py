"""WeCom group markdown: bold title, labelled facts, link, escaping, byte limit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pusher.summary import Facts, Notice, Summary, render_wecom_markdown, summarize

if TYPE_CHECKING:
    import jieba

LINK = "https://gk.example.gov.cn/i/20240301"


def test_gaoling_markdown(gaoling: Notice, tokenizer: jieba.Tokenizer) -> None:
    md = render_wecom_markdown(summarize(gaoling, tokenizer=tokenizer), link=LINK)
    lines = md.split("\n")
    assert lines[0] == "**发放2024年高龄津贴**"
    assert "截止时间：2024年3月31日前" in lines
    assert "补贴标准：每人每月200元；每人每月300元" in lines
    assert "办理地点：户籍所在地村委会" in lines
    assert "咨询电话：0791-12345678" in lines
    assert lines[-1] == f"[查看全文]({LINK})"


def test_fee_label_and_urgent_lead_first(
    baoyu: Notice, yibao: Notice, tokenizer: jieba.Tokenizer
) -> None:
    md = render_wecom_markdown(summarize(yibao, tokenizer=tokenizer), link=None)
    assert "缴费标准：每人每年400元" in md
    assert "查看全文" not in md
    urgent = render_wecom_markdown(summarize(baoyu, tokenizer=tokenizer), link=LINK).split("\n")
    assert urgent[1].startswith("> 过去3小时")


def test_markup_in_notice_text_is_escaped(tokenizer: jieba.Tokenizer) -> None:
    summary = Summary(
        title="**紧急** [通知] <b>停水</b> _公告_",
        facts=Facts(places=("`3号`楼#1",)),
        lead="",
    )
    md = render_wecom_markdown(summary, link="https://x.example/a b(1)", tokenizer=tokenizer)
    first = md.split("\n")[0]
    assert first.startswith("**") and first.endswith("**")
    assert "*" not in first[2:-2]
    for char in "[]<>_`#":
        assert char not in md.split("\n[查看全文]")[0]
    assert md.endswith("[查看全文](https://x.example/a%20b%281%29)")


def test_byte_limit_drops_low_priority_lines(gaoling: Notice, tokenizer: jieba.Tokenizer) -> None:
    summary = summarize(gaoling, tokenizer=tokenizer)
    full = render_wecom_markdown(summary, link=LINK)
    small = render_wecom_markdown(summary, link=LINK, max_bytes=160)
    assert len(small.encode()) <= 160 < len(full.encode())
    assert small.startswith("**发放2024年高龄津贴**\n截止时间：2024年3月31日前")
    assert small.endswith(f"[查看全文]({LINK})")
    assert "咨询电话" not in small
