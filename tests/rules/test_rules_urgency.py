from __future__ import annotations

import json
from pathlib import Path

import pytest

from rules import ItemText, Tokenizer, classify_domains, classify_urgency

SAMPLE = Path("/work/shared/data/notices_sample.jsonl")


def urgency(title: str, body: str = "") -> str:
    return classify_urgency(ItemText(id="u", title=title, body=body))


@pytest.mark.parametrize(
    "title",
    [
        "县气象台发布暴雨橙色预警信号",
        "市气象台发布大风蓝色预警[Ⅳ级/一般]",
        "台风红色预警：请立即回港避风",
        "镇防汛指挥部启动防汛Ⅲ级应急响应",
        "关于做好台风防御工作的紧急通知",
        "关于山洪灾害危险区群众紧急转移的公告",
        "请低洼地带住户立即撤离",
        "森林火险橙色预警",
        "关于暴雨黄色预警降级为蓝色预警的通知",
        "ＸＸ县气象台发布寒潮黄色预警",  # full width is normalised
    ],
)
def test_warnings_and_emergency_orders_are_urgent(title: str) -> None:
    assert urgency(title) == "urgent"


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("石鼻镇防汛应急转移疏散预案", "转移信号为鸣锣、广播预警。"),
        ("县气象台解除暴雨橙色预警信号", ""),
        ("关于终止防汛Ⅳ级应急响应的通知", ""),
        ("完善防返贫动态监测预警机制", "对监测对象及时预警、及时帮扶。"),
        ("关于开展2025年度城乡居民医保缴费的通知", "请于12月31日前缴费。"),
        ("暴雨过后的卫生防疫提示", "县气象台昨日发布暴雨红色预警信号，现已解除。"),
    ],
)
def test_plans_lifted_warnings_and_ordinary_notices_are_not(title: str, body: str) -> None:
    assert urgency(title, body) == "normal"


def test_the_sample_weather_warnings_are_urgent_disaster_relief(tokenizer: Tokenizer) -> None:
    if not SAMPLE.is_file():
        pytest.skip("shared sample file not present")
    records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    warnings = [r for r in records if r["id"].startswith("qwd-")]
    assert len(warnings) == 12
    for record in warnings:
        item = ItemText(id=record["id"], title=record["title"], body=record["body"])
        assert classify_urgency(item) == "urgent", record["title"]
        assert "救灾" in {h.domain for h in classify_domains(item, tokenizer=tokenizer)}
    others = [r for r in records if not r["id"].startswith("qwd-")]
    assert not [r["title"] for r in others if urgency(r["title"], r["body"]) == "urgent"]
