"""Title cleaning and fact extraction on realistic township notices."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pusher.summary import Notice, clean_title, extract_facts, summarize

if TYPE_CHECKING:
    import jieba


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("关于发放2024年高龄津贴的通知", "发放2024年高龄津贴"),
        ("某某镇人民政府关于发放2024年高龄津贴的通知", "发放2024年高龄津贴"),
        ("关于2024年耕地地力保护补贴发放的公示", "2024年耕地地力保护补贴发放"),
        ("关于开展秋季征兵工作的公告", "开展秋季征兵工作"),
        # stripping would leave nothing, a bare year, or a dangling word: keep the title
        ("关于的通知", "关于的通知"),
        ("关于2024年的通知", "关于2024年的通知"),
        ("关于和的通知", "关于和的通知"),
        # other document kinds keep their kind: the "decision" is the point
        ("国务院关于修改部分行政法规的决定", "国务院关于修改部分行政法规的决定"),
        ("关于做好防汛工作的紧急通知", "关于做好防汛工作的紧急通知"),
        ("高龄津贴发放通知", "高龄津贴发放通知"),
        ("  关于发放\n2024年 高龄津贴的通知 ", "发放2024年高龄津贴"),
    ],
)
def test_clean_title(raw: str, clean: str) -> None:
    assert clean_title(raw) == clean


def test_gaoling_facts(gaoling: Notice) -> None:
    facts = extract_facts(gaoling.body)
    assert facts.deadlines == ("2024年3月31日前",)
    assert facts.amounts == ("每人每月200元", "每人每月300元")
    assert facts.eligible[0] == "年满80周岁的老年人"
    assert facts.places == ("户籍所在地村委会",)
    assert facts.phones == ("0791-12345678",)


def test_gengdi_facts(gengdi: Notice) -> None:
    facts = extract_facts(gengdi.body)
    assert facts.deadlines == ("2024年5月6日至5月12日",)
    assert facts.amounts == ("每亩120元",)
    assert "拥有耕地承包权的种地农民" in facts.eligible
    assert facts.places == ("镇便民服务中心",)
    assert facts.phones == ("13907912345",)


def test_yibao_facts(yibao: Notice) -> None:
    facts = extract_facts(yibao.body)
    assert facts.deadlines[0] == "即日起至2024年12月31日"
    assert facts.amounts == ("每人每年400元",)
    assert facts.phones == ("0797-8881234", "12393")


def test_baoyu_summary(baoyu: Notice, tokenizer: jieba.Tokenizer) -> None:
    summary = summarize(baoyu, tokenizer=tokenizer)
    assert summary.urgent
    assert summary.warning == "暴雨红色预警"
    assert summary.lead.startswith("过去3小时我县东部已出现100毫米以上降水")
    assert summary.facts.deadlines == ("2024年6月16日08时30分",)
    assert summary.facts.phones == ("0797-6612345",)


@pytest.mark.parametrize("name", ["gaoling", "gengdi", "yibao", "baoyu"])
def test_facts_are_exact_substrings(name: str, request: pytest.FixtureRequest) -> None:
    notice: Notice = request.getfixturevalue(name)
    facts = extract_facts(notice.body)
    found = [*facts.deadlines, *facts.amounts, *facts.places, *facts.eligible, *facts.phones]
    assert found
    assert all(item in notice.body for item in found)


def test_lead_skips_salutation_and_preamble(gaoling: Notice, tokenizer: jieba.Tokenizer) -> None:
    summary = summarize(gaoling, tokenizer=tokenizer)
    assert summary.title == "发放2024年高龄津贴"
    assert summary.lead.startswith("凡年满80周岁的老年人")
    assert len(summary.lead) <= 50


def test_lead_skips_repeated_title_and_document_number(tokenizer: jieba.Tokenizer) -> None:
    notice = Notice(
        title="国务院办公厅关于推进政务新媒体健康有序发展的意见",
        body=(
            "国务院办公厅关于推进\n  政务新媒体健康有序发展的意见\n  国办发〔2018〕123号\n"
            "  各省、自治区、直辖市人民政府，国务院各部委、各直属机构：\n"
            "  政务新媒体是移动互联网时代党和政府联系群众的重要渠道。"
        ),
    )
    summary = summarize(notice, tokenizer=tokenizer)
    assert summary.lead == "政务新媒体是移动互联网时代党和政府联系群众的重要渠道。"


def test_no_facts_in_plain_text() -> None:
    facts = extract_facts("为进一步加强村容村貌整治，请各村做好环境卫生工作。")
    assert facts.deadlines == facts.amounts == facts.phones == ()


def test_eligible_group_never_ends_inside_a_phone_number() -> None:
    """Found by the property test: the group's length cap fell inside 0791-10000000."""
    body = "凡" + "村民" * 14 + "0791-10000000"
    facts = extract_facts(body)
    assert facts.phones == ("0791-10000000",)
    assert all(not e[-1].isdigit() for e in facts.eligible)


def test_eligible_group_never_begins_inside_a_number() -> None:
    """Found by the property test: "1000周岁村民" gave the group "000周岁村民"."""
    assert extract_facts("1000周岁村民").eligible == ()
    assert extract_facts("凡年满60周岁的老年人均可申请").eligible == ("年满60周岁的老年人均可申请",)
    assert extract_facts("1" * 30 + "的村民").eligible == ()  # the 24-character cap
