from __future__ import annotations

import pytest

from rules import DOMAINS, ItemText, Tokenizer, classify_domains
from rules.evaluate import EITHER, Evaluation, gold_requirements


def domains_of(tokenizer: Tokenizer, title: str, body: str = "") -> list[str]:
    item = ItemText(id="d", title=title, body=body)
    return [h.domain for h in classify_domains(item, tokenizer=tokenizer)]


def test_there_are_the_26_standard_domains() -> None:
    assert len(DOMAINS) == len(set(DOMAINS)) == 26
    assert "征地补偿/农村集体土地征收" in DOMAINS


@pytest.mark.parametrize(
    ("title", "body", "expected"),
    [
        ("关于2024年城乡居民医保集中参保缴费的通知", "请参保人员按时缴费。", "社会保险"),
        ("南塘村2024年第三季度低保对象公示", "经审核，以下家庭纳入最低生活保障。", "社会救助"),
        ("关于发放80周岁以上老年人高龄津贴的通知", "请老年人携带身份证到村委会登记。", "养老服务"),
        ("2024年耕地地力保护补贴发放公示", "补贴资金已通过一卡通发放到农户。", "涉农补贴"),
        ("县气象台发布暴雨橙色预警信号", "请做好防汛准备，地质灾害隐患点人员及时转移。", "救灾"),
        ("2024年秋季小学一年级新生入学报名通知", "适龄儿童凭户口簿报名。", "义务教育"),
        ("镇卫生院开展免费健康体检", "65岁以上老人可预约家庭医生。", "卫生健康"),
        ("东湖社区公益性岗位招聘公告", "面向就业困难人员招聘保洁员。", "就业"),
    ],
)
def test_items_land_in_their_domain(
    tokenizer: Tokenizer, title: str, body: str, expected: str
) -> None:
    assert expected in domains_of(tokenizer, title, body)


def test_an_item_about_nothing_stays_unclassified(tokenizer: Tokenizer) -> None:
    assert domains_of(tokenizer, "村里举办中秋联欢晚会", "欢迎大家带上月饼一起赏月聊天。") == []


def test_an_item_can_be_in_several_domains(tokenizer: Tokenizer) -> None:
    found = domains_of(tokenizer, "困难群众医疗救助和城乡居民医保参保资助", "")
    assert {"社会救助", "社会保险"} <= set(found)


def test_domain_reasons_point_at_the_words(tokenizer: Tokenizer) -> None:
    title = "关于发放高龄补贴的通知"
    item = ItemText(id="d", title=title, body="")
    [hit] = [h for h in classify_domains(item, tokenizer=tokenizer) if h.domain == "养老服务"]
    [reason] = hit.reasons
    assert (reason.keyword, reason.matched_text, reason.offset) == ("高龄津贴", "高龄补贴", 4)
    assert hit.score >= 2


def test_a_shorter_word_inside_a_longer_one_counts_for_the_longer(tokenizer: Tokenizer) -> None:
    # 养老 (养老服务) lies inside 养老保险 (社会保险)
    assert domains_of(tokenizer, "", "养老保险待遇") == ["社会保险"]


def test_label_mapping_of_the_sample_file() -> None:
    assert gold_requirements({"original_label": ["找工作", "其他"]}) == {"就业"}
    assert gold_requirements({"original_label": ["社会保障（社会保险、社会救助）"]}) == {EITHER}
    assert gold_requirements({"original_label": {"severity": "minor"}}) == {"救灾"}
    assert gold_requirements({"original_label": "综合政务\\应急管理"}) == {"救灾"}
    assert gold_requirements({"original_label": "其他"}) == set()


def test_evaluation_counts_either_label_once() -> None:
    result = Evaluation()
    result.add({EITHER}, {"社会救助"})
    result.add({EITHER}, set())
    result.add(set(), {"就业"})
    assert result.rows["社会救助"].tp == 1
    assert (result.rows[EITHER].tp, result.rows[EITHER].fn) == (1, 1)
    assert result.micro().figures()["precision"] == 0.5
    assert (result.unlabelled_items, result.unlabelled_classified) == (1, 1)
