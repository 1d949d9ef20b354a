"""The policy interpretation's link in summaries: where there is room, never for the item's."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from pusher.summary import Notice, render_all, sms_capacity, sms_length

if TYPE_CHECKING:
    import jieba

LINK = "https://gk.example.gov.cn/s/1"
JD = "https://gk.example.gov.cn/jd/1.html"  # 35 characters
REMARK = {"thing1": "thing", "time2": "time", "remark": "thing", "remark1": "character_string"}
NOTICE = Notice(title="低保标准调整", body="农村低保标准提高到每人每月620元。", publisher="某某镇")


def test_sms_wechat_and_wecom_carry_the_interpretation_when_there_is_room(
    tokenizer: jieba.Tokenizer,
) -> None:
    notice = replace(NOTICE, interpretation_url=JD)
    texts = render_all(
        notice, tokenizer=tokenizer, sms_signature="某某镇", link=LINK,
        sms_max_segments=2, wechat_fields=REMARK,
    )
    assert texts.sms.endswith(f"详见 {LINK} 解读 {JD}")
    assert sms_length(texts.sms) <= sms_capacity(2)
    # neither a thing (20 characters) nor a character_string (32) can hold JD's 35
    assert not any(JD in value for value in texts.wechat.values())
    assert texts.wecom.endswith(f"[查看全文]({LINK})\n[政策解读]({JD})")


def test_a_template_remark_field_that_fits_takes_the_link(tokenizer: jieba.Tokenizer) -> None:
    short = "https://gk.gov.cn/jd/1"
    texts = render_all(
        replace(NOTICE, interpretation_url=short), tokenizer=tokenizer, sms_signature="某某镇",
        link=LINK, wechat_fields={"thing1": "thing", "remark1": "character_string"},
    )
    assert texts.wechat == {"thing1": "低保标准调整", "remark1": short}


def test_sms_never_gives_up_the_item_link_for_the_interpretation(
    tokenizer: jieba.Tokenizer,
) -> None:
    plain = render_all(
        NOTICE, tokenizer=tokenizer, sms_signature="某某镇", link=LINK, sms_max_segments=1,
        wechat_fields={},
    )
    long_jd = "https://gk.example.gov.cn/" + "j" * (sms_capacity(1) - sms_length(plain.sms))
    with_jd = render_all(
        replace(NOTICE, interpretation_url=long_jd), tokenizer=tokenizer,
        sms_signature="某某镇", link=LINK, sms_max_segments=1, wechat_fields={},
    )
    assert with_jd.sms == plain.sms and LINK in with_jd.sms
    assert with_jd.wecom.endswith(f"[政策解读]({long_jd})")
