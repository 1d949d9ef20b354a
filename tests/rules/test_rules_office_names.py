"""Issue 24 rules of the domain classifier: an office's name says who issued a notice,
not what it is about; a tender stands alone; a reviewer's choice wins over everything."""

from __future__ import annotations

import pytest

from rules import ItemText, Tokenizer, classify_domains
from rules.classify import in_office_name
from rules.domains import decide_domains
from rules.model import DomainHit


def domains_of(tokenizer: Tokenizer, title: str) -> list[str]:
    return [h.domain for h in classify_domains(ItemText("o", title, ""), tokenizer=tokenizer)]


@pytest.mark.parametrize(
    ("text", "word", "office"),
    [
        ("区自然资源与生态环境局关于启用印章的通知", "生态环境", True),
        ("区卫生健康委员会关于调整办公地址的通知", "卫生健康", True),
        ("区卫生健康委关于调整办公地址的通知", "卫生健康", True),
        ("区残疾人联合会关于印发网络安全制度的通知", "残疾人", True),
        ("县人力资源和社会保障局2024年工作总结", "社会保障", True),
        ("生态环境局局长带队检查", "生态环境", True),
        ("关于加强生态环境保护的通知", "生态环境", False),
        ("单元详细规划局部调整的公告", "详细规划", False),  # 局部 is not an office
        ("养老服务布局规划", "养老服务", False),  # nor is 布局
        ("环境监测委托服务", "环境监测", False),  # nor 委托
        ("县就业服务中心招聘会", "就业", False),  # a 中心 delivers the service itself
        ("美佳环保科技有限公司车辆伤害事故调查报告", "环保", True),  # a company's name
        ("绿源环保有限责任公司注销公告", "环保", True),
        ("环保公司排污许可证核发", "排污", False),  # 公司 alone is no legal form
    ],
)
def test_a_word_in_an_office_name_is_recognised(text: str, word: str, office: bool) -> None:
    start = text.index(word)
    assert in_office_name(text, start, start + len(word)) is office


def test_the_issuer_does_not_decide_the_domain(tokenizer: Tokenizer) -> None:
    # the same office name, once with a subject and once without
    assert domains_of(tokenizer, "区自然资源与生态环境局关于启用图纸专用章的通知") == []
    assert domains_of(tokenizer, "区自然资源与生态环境局关于排污许可证核发的公告") == [
        "生态环境"
    ]


def test_a_company_named_in_the_title_does_not_decide_the_domain(tokenizer: Tokenizer) -> None:
    title = "关于金井片区北厝镇美佳环保科技有限公司车辆伤害事故调查报告的批复"
    assert domains_of(tokenizer, title) == ["安全生产"]


def test_a_tender_is_about_the_procedure_not_the_thing_bought(tokenizer: Tokenizer) -> None:
    assert domains_of(tokenizer, "区生态环境监测服务项目询价公告") == ["公共资源交易"]
    assert domains_of(tokenizer, "区养老服务中心物业服务采购结果公告") == ["公共资源交易"]


def test_supplier_calls_and_central_purchasing_are_procurement_only_when_they_are(
    tokenizer: Tokenizer,
) -> None:
    assert domains_of(tokenizer, "某中学关于零星修缮工程定点供应商征集结果的公示") == [
        "公共资源交易"
    ]
    assert domains_of(tokenizer, "关于印发政府集中采购目录及限额标准的通知") == ["公共资源交易"]
    # a health policy that names the drugs' central purchasing is no tender
    policy = "关于印发国家组织药品集中采购和使用试点方案的通知"
    assert "公共资源交易" not in domains_of(tokenizer, policy)


def test_the_reviewer_wins_and_may_choose_none() -> None:
    def never() -> list[DomainHit]:
        raise AssertionError("the classifier must not run")

    chosen = decide_domains([("item", "养老服务")], never, reviewed=["社会救助"])
    assert chosen.domains == ("社会救助",) and chosen.source == "reviewed"
    nothing = decide_domains([("item", "养老服务")], never, reviewed=[])
    assert nothing.domains == () and nothing.source == "reviewed"
    declared = decide_domains([("item", "养老服务")], never, reviewed=None)
    assert declared.domains == ("养老服务",) and declared.source == "declared"
