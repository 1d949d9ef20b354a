"""SMS length rules and what a resident reads when space is short."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pusher.summary import (
    Facts,
    Notice,
    SmsTooShortError,
    Summary,
    render_sms,
    sms_segments,
    summarize,
)

if TYPE_CHECKING:
    import jieba

LINK = "https://gk.example.gov.cn/i/20240301"


@pytest.mark.parametrize(
    ("length", "segments"),
    [(0, 0), (1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)],
)
def test_segments_by_length(length: int, segments: int) -> None:
    assert sms_segments("字" * length) == segments


def test_signature_and_emoji_count() -> None:
    assert sms_segments("【某某镇】" + "字" * 65) == 1
    assert sms_segments("【某某镇】" + "字" * 66) == 2
    # carriers count UTF-16 units: an emoji outside the BMP is two characters
    assert sms_segments("😀" * 35) == 1
    assert sms_segments("😀" * 36) == 2


def test_one_segment_keeps_title_and_the_link_first(
    gaoling: Notice, tokenizer: jieba.Tokenizer
) -> None:
    summary = summarize(gaoling, tokenizer=tokenizer)
    sms = render_sms(summary, signature="某某镇", link=LINK, max_segments=1, tokenizer=tokenizer)
    assert sms.startswith("【某某镇】发放2024年高龄津贴")
    assert sms.endswith(LINK)  # every SMS reaches the full notice (issue 25)
    assert sms_segments(sms) == 1
    bare = render_sms(summary, signature="某某镇", link=None, max_segments=1, tokenizer=tokenizer)
    assert "2024年3月31日前" in bare  # without a link the facts take its room
    assert "每人每月200元" in bare


def test_more_segments_bring_phone_and_link(gaoling: Notice, tokenizer: jieba.Tokenizer) -> None:
    summary = summarize(gaoling, tokenizer=tokenizer)
    sms = render_sms(summary, signature="某某镇", link=LINK, max_segments=3, tokenizer=tokenizer)
    assert "0791-12345678" in sms
    assert sms.endswith(LINK)
    assert sms_segments(sms) <= 3


def test_fee_notice_uses_fee_label(yibao: Notice, tokenizer: jieba.Tokenizer) -> None:
    summary = summarize(yibao, tokenizer=tokenizer)
    sms = render_sms(summary, signature="某某镇", link=None, max_segments=2, tokenizer=tokenizer)
    assert "即日起至2024年12月31日" in sms
    assert "缴费：每人每年400元" in sms


def test_urgent_starts_with_the_warning(baoyu: Notice, tokenizer: jieba.Tokenizer) -> None:
    summary = summarize(baoyu, tokenizer=tokenizer)
    for segments in (1, 2, 3):
        sms = render_sms(
            summary,
            signature="某某县应急管理局",
            link=LINK,
            max_segments=segments,
            tokenizer=tokenizer,
        )
        assert sms.startswith("【某某县应急管理局】暴雨红色预警：过去3小时")
        assert sms_segments(sms) <= segments
    assert "立即转移" in sms


def test_long_title_is_cut_between_words(tokenizer: jieba.Tokenizer) -> None:
    title = (
        "关于进一步做好全镇农村低收入人口常态化帮扶和防止规模性返贫动态监测"
        "及巩固拓展脱贫攻坚成果同乡村振兴有效衔接工作的实施意见"
    )
    summary = Summary(title=title, facts=Facts(deadlines=("2024年6月30日前",)), lead="")
    sms = render_sms(summary, signature="某某镇", link=None, max_segments=1, tokenizer=tokenizer)
    assert sms_segments(sms) == 1
    assert "…" in sms
    head = sms.removeprefix("【某某镇】").split("…")[0]
    assert title.startswith(head)
    boundaries = {0}
    for word in tokenizer.lcut(title):
        boundaries.add(max(boundaries) + len(word))
    assert len(head) in boundaries
    assert "2024年6月30日前" in sms


def test_signature_forms_and_no_unsubscribe_text(
    gaoling: Notice, tokenizer: jieba.Tokenizer
) -> None:
    summary = summarize(gaoling, tokenizer=tokenizer)
    plain = render_sms(summary, signature="某某镇", link=None, tokenizer=tokenizer)
    bracketed = render_sms(summary, signature="【某某镇】", link=None, tokenizer=tokenizer)
    assert plain == bracketed
    assert "拒收" not in plain and "退订" not in plain


def test_brackets_in_text_do_not_look_like_a_signature(tokenizer: jieba.Tokenizer) -> None:
    summary = Summary(title="【通知】发放2024年高龄津贴", facts=Facts(), lead="")
    sms = render_sms(summary, signature="某某镇", link=None, tokenizer=tokenizer)
    assert sms.count("【") == 1 and sms.count("】") == 1


def test_signature_too_long(gaoling: Notice, tokenizer: jieba.Tokenizer) -> None:
    summary = summarize(gaoling, tokenizer=tokenizer)
    with pytest.raises(SmsTooShortError):
        render_sms(summary, signature="某" * 60, link=None, tokenizer=tokenizer)
