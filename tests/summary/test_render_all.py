"""The preview: every channel's text for one notice, from one call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pusher.summary import ChannelTexts, Notice, render_all, sms_segments

if TYPE_CHECKING:
    import jieba

LINK = "https://gk.example.gov.cn/i/1"
FIELDS = {"thing1": "thing", "time2": "time", "phrase3": "phrase"}


def test_routine_item_preview(gaoling: Notice, tokenizer: jieba.Tokenizer) -> None:
    texts = render_all(
        gaoling,
        tokenizer=tokenizer,
        sms_signature="某某镇",
        link=LINK,
        sms_max_segments=2,
        wechat_fields=FIELDS,
    )
    assert isinstance(texts, ChannelTexts)
    assert texts.sms.startswith("【某某镇】发放2024年高龄津贴")
    assert texts.sms_segments == sms_segments(texts.sms) <= 2
    assert texts.wechat == {
        "thing1": "发放2024年高龄津贴",
        "time2": "2024年3月31日",
        "phrase3": "限期办理",
    }
    assert texts.wecom.startswith("**发放2024年高龄津贴**")
    assert texts.wecom.endswith(f"[查看全文]({LINK})")


def test_default_segments_follow_urgency(
    gaoling: Notice, baoyu: Notice, tokenizer: jieba.Tokenizer
) -> None:
    routine = render_all(
        gaoling, tokenizer=tokenizer, sms_signature="某某镇", link=LINK, wechat_fields=FIELDS
    )
    urgent = render_all(
        baoyu, tokenizer=tokenizer, sms_signature="某某镇", link=LINK, wechat_fields=FIELDS
    )
    assert routine.sms_segments == 1
    assert 1 < urgent.sms_segments <= 3
    assert "立即转移" in urgent.sms
    assert urgent.wechat["phrase3"] == "红色预警"
