from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import SQLModel

from pusher.db import SessionFactory, create_engine, session_factory
from pusher.models import Group, GroupKind, Item, Region, RegionKind, Topic
from pusher.pipeline.match import find_matches
from rules import DOMAINS, ItemText, Tokenizer, classify_domains, compile_rules
from rules.classify import Candidate, decide
from rules.domains import DomainClassifier, decide_domains, item_domains
from rules.evaluate import EITHER, Evaluation, gold_requirements
from rules.model import DomainHit
from rules.testset import NONE, measure


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
        ("县美术馆举办农民书画展览", "展出本县农民画作品一百余幅。", "公共文化服务"),
    ],
)
def test_items_land_in_their_domain(
    tokenizer: Tokenizer, title: str, body: str, expected: str
) -> None:
    assert domains_of(tokenizer, title, body) == [expected]


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("村里举办中秋联欢晚会", "欢迎大家带上月饼一起赏月聊天。"),
        # a museum recruiting staff: neither public culture nor employment services
        ("县博物馆2024年公开招聘工作人员公告", "招聘讲解员2名，报名时间为5月1日至5日。"),
        # a notarised document asked for in passing is no legal-service notice
        ("港澳居民来内地投资企业设立登记", "申请人提交的身份证明须经公证。"),
        # 身份证 and 规划 and 食品 alone, without their anchors
        ("关于开展职业生涯规划讲座的通知", "请携带身份证，现场提供食品和饮水。"),
    ],
)
def test_it_abstains_on_notices_of_no_domain(tokenizer: Tokenizer, title: str, body: str) -> None:
    assert domains_of(tokenizer, title, body) == []


@pytest.mark.parametrize(
    "title",
    [
        "2024年下半年高等教育自学考试报名通知",
        "关于做好2024年普通高校本科招生录取工作的通知",
        "2024年职业资格考试报名须知",
        "学校开展环境教育进课堂活动",
        # 入学 next to 新生 would count; 高中 and 高校 veto it
        "普通高中新生入学报到须知",
        "高校新生入学资格复查通知",
    ],
)
def test_education_that_is_not_compulsory_is_vetoed(tokenizer: Tokenizer, title: str) -> None:
    assert "义务教育" not in domains_of(tokenizer, title, "请学生按时报名参加考试。")


def test_a_veto_yields_to_the_domain_named_outright(tokenizer: Tokenizer) -> None:
    # 幼儿园 vetoes 义务教育, but not where the title names 义务教育 itself
    assert domains_of(tokenizer, "学前教育、义务教育阶段入学政策咨询") == ["义务教育"]
    assert domains_of(tokenizer, "幼儿园新生入学报名通知") == []


@pytest.mark.parametrize(
    ("generic", "anchored", "domain"),
    [
        ("关于加强教育工作的通知", "关于加强小学教育工作的通知", "义务教育"),
        ("产业发展规划公示", "村庄建设规划公示", "城乡规划"),
        ("食品展销会开幕", "食品安全抽检结果公告", "食品药品监管"),
    ],
)
def test_generic_words_count_only_next_to_an_anchor(
    tokenizer: Tokenizer, generic: str, anchored: str, domain: str
) -> None:
    assert domain not in domains_of(tokenizer, generic)
    assert domain in domains_of(tokenizer, anchored)


@pytest.mark.parametrize(
    ("title", "word", "domain", "counts"),
    [
        ("关于加强教育工作的通知", "教育", "义务教育", False),
        ("关于加强中小学教育工作的通知", "教育", "义务教育", True),
        ("请携带身份证到村委会", "身份证", "户籍管理", False),
        ("身份证挂失补领", "身份证", "户籍管理", True),
        ("国家食品展销会", "食品", "食品药品监管", False),
        ("食品质量监管通报", "食品", "食品药品监管", True),
    ],
)
def test_an_anchored_word_is_counted_only_with_its_anchor(
    tokenizer: Tokenizer, title: str, word: str, domain: str, counts: bool
) -> None:
    classifier = DomainClassifier(tokenizer=tokenizer)
    found = {
        f.word
        for c in classifier.candidates(ItemText(id="d", title=title, body=""))
        if c.domain == domain
        for f in c.found
    }
    assert (word in found) is counts


def test_a_clear_winner_keeps_the_item_a_close_second_shares_it(tokenizer: Tokenizer) -> None:
    # 公益性岗位 (就业, 3 x 1.5) against 养老保险 (社会保险, 2 x 1.5): not within 75%
    assert domains_of(tokenizer, "公益性岗位人员参加养老保险补贴") == ["就业"]
    # 稳岗 (就业) and 失业保险 (社会保险) weigh the same: both
    assert set(domains_of(tokenizer, "失业保险稳岗返还申领")) == {"就业", "社会保险"}
    weak = Candidate("就业", 3.3, ())
    assert decide([Candidate("社会保险", 4.5, ()), weak]) == [Candidate("社会保险", 4.5, ())]
    assert len(decide([Candidate("社会保险", 4.0, ()), weak])) == 2
    assert decide([Candidate("社会保险", 2.9, ())]) == []
    assert decide([Candidate("社会保险", 9.0, (), vetoed_by="退休")]) == []


def test_a_specific_word_in_the_body_alone_does_not_decide(tokenizer: Tokenizer) -> None:
    assert domains_of(tokenizer, "关于近期工作的通知", "办理时请带上社会保障卡。") == []
    assert domains_of(tokenizer, "社会保障卡申领", "") == ["社会保险"]


def test_domains_compete_the_clear_winner_takes_it(tokenizer: Tokenizer) -> None:
    # 灵活就业 says 就业 once; 养老保险 and 参保登记 say 社会保险 twice as loud
    found = domains_of(tokenizer, "灵活就业人员企业职工基本养老保险参保登记")
    assert found == ["社会保险"]


def test_an_item_can_be_in_several_domains(tokenizer: Tokenizer) -> None:
    found = domains_of(tokenizer, "困难群众医疗救助和城乡居民医保参保资助", "")
    assert set(found) == {"社会救助", "社会保险"}


def test_domain_reasons_point_at_the_words(tokenizer: Tokenizer) -> None:
    title = "关于发放高龄补贴的通知"
    item = ItemText(id="d", title=title, body="")
    [hit] = classify_domains(item, tokenizer=tokenizer)
    [reason] = hit.reasons
    assert hit.domain == "养老服务"
    assert (reason.keyword, reason.matched_text, reason.offset) == ("高龄津贴", "高龄补贴", 4)
    assert hit.score == 3.0  # a specific word (2) in the title (x1.5)


def test_a_shorter_word_inside_a_longer_one_counts_for_the_longer(tokenizer: Tokenizer) -> None:
    # 养老 (养老服务) lies inside 养老保险 (社会保险)
    assert domains_of(tokenizer, "养老保险待遇领取资格认证") == ["社会保险"]


def test_declared_wins_over_classified(tokenizer: Tokenizer) -> None:
    classifier = DomainClassifier(tokenizer=tokenizer)
    item = ItemText(id="d", title="80周岁以上老年人高龄津贴发放", body="")
    assert item_domains(item, classifier) == ("养老服务",)
    declared = ItemText(id="d", title=item.title, body="", domains=("社会救助",))
    assert item_domains(declared, classifier) == ("社会救助",)


def test_decide_domains_takes_the_first_declarer_and_never_classifies_then() -> None:
    def classify() -> list[DomainHit]:
        raise AssertionError("the classifier must not run when a domain is declared")

    decision = decide_domains([("source", "市政服务"), ("item", "就业")], classify)
    assert (decision.domains, decision.source, decision.declared_by) == (
        ("就业",),
        "declared",
        "item",
    )
    decision = decide_domains([("source", "市政服务")], classify)
    assert (decision.domains, decision.declared_by) == (("市政服务",), "source")
    nothing = decide_domains([], list)
    assert (nothing.domains, nothing.source) == ((), "none")


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[SessionFactory]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'match.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    yield session_factory(engine)
    await engine.dispose()


async def _town(db: SessionFactory) -> dict[str, int]:
    """A village with its region group and two topic groups; returns group ids by name."""
    async with db() as session, session.begin():
        village = Region(code="1", name="南塘村", kind=RegionKind.VILLAGE, path="/1/")
        session.add(village)
        await session.flush()
        groups = [Group(name="南塘村群", kind=GroupKind.REGION, region_id=village.id)]
        for name in ("养老服务", "社会救助"):
            topic = Topic(name=name, builtin=True)
            session.add(topic)
            await session.flush()
            groups.append(Group(name=f"{name}订阅", kind=GroupKind.TOPIC, topic_id=topic.id))
        session.add_all(groups)
        await session.flush()
        return {g.name: int(g.id or 0) for g in groups} | {"village": int(village.id or 0)}


async def _match(
    db: SessionFactory, tokenizer: Tokenizer, ids: dict[str, int], title: str, domain: str | None
) -> tuple[list[str], dict[int, list[dict[str, object]]]]:
    item = Item(title=title, body="", publisher="镇政府", domain=domain, region_id=ids["village"])
    async with db() as session:
        matcher = compile_rules([], tokenizer=tokenizer)
        classifier = DomainClassifier(tokenizer=tokenizer)
        return await find_matches(session, item, matcher=matcher, classifier=classifier)


async def test_find_matches_uses_the_declared_domain_only(
    db: SessionFactory, tokenizer: Tokenizer
) -> None:
    ids = await _town(db)
    domains, reasons = await _match(db, tokenizer, ids, "高龄津贴发放", "社会救助")
    assert domains == ["社会救助"]
    assert ids["养老服务订阅"] not in reasons
    [why] = reasons[ids["社会救助订阅"]]
    assert why == {
        "kind": "domain",
        "domain": "社会救助",
        "source": "declared",
        "declared_by": "item",
        "keywords": [],
    }


async def test_find_matches_says_what_the_classifier_read(
    db: SessionFactory, tokenizer: Tokenizer
) -> None:
    ids = await _town(db)
    domains, reasons = await _match(db, tokenizer, ids, "高龄津贴发放", None)
    assert domains == ["养老服务"]
    [why] = reasons[ids["养老服务订阅"]]
    assert (why["source"], why["domain"], why["score"]) == ("classified", "养老服务", 3.0)
    assert [k["keyword"] for k in why["keywords"]] == ["高龄津贴"]  # type: ignore[attr-defined]


async def test_an_item_of_no_domain_reaches_its_region_but_no_topic(
    db: SessionFactory, tokenizer: Tokenizer
) -> None:
    ids = await _town(db)
    domains, reasons = await _match(db, tokenizer, ids, "村里举办中秋联欢晚会", None)
    assert domains == []
    assert set(reasons) == {ids["南塘村群"]}


def test_label_mapping_of_the_sample_file() -> None:
    assert gold_requirements({"original_label": ["找工作", "其他"]}) == {"就业"}
    assert gold_requirements({"original_label": ["社会保障（社会保险、社会救助）"]}) == {EITHER}
    assert gold_requirements({"original_label": {"severity": "minor"}}) == {"救灾"}
    assert gold_requirements({"original_label": "综合政务\\应急管理"}) == {"救灾"}
    assert gold_requirements({"original_label": "其他"}) == set()


def test_confusions_count_each_mistake_once() -> None:
    records = [
        {"id": "a", "title": "甲", "body": "", "labels": ["就业"]},
        {"id": "b", "title": "乙", "body": "", "labels": []},
        {"id": "c", "title": "丙", "body": "", "labels": ["社会保险"]},
        {
            "id": "d",
            "title": "丁",
            "body": "",
            "original_label": ["社会保障（社会保险、社会救助）"],
        },
    ]
    said = {"甲": ["公共法律服务"], "乙": ["义务教育"], "丙": [], "丁": ["社会救助"]}
    measured = measure(records, lambda item: said[item.title])
    assert measured.confusions == {
        ("就业", "公共法律服务"): 1,
        (NONE, "义务教育"): 1,
        ("社会保险", NONE): 1,
    }


def test_evaluation_counts_either_label_once() -> None:
    result = Evaluation()
    result.add({EITHER}, {"社会救助"})
    result.add({EITHER}, set())
    result.add(set(), {"就业"})
    assert result.rows["社会救助"].tp == 1
    assert (result.rows[EITHER].tp, result.rows[EITHER].fn) == (1, 1)
    assert result.micro().figures()["precision"] == 0.5
    assert (result.unlabelled_items, result.unlabelled_classified) == (1, 1)
