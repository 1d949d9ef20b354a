"""Precision and recall of the domain classifier against labelled sample notices.

The label mapping is the one in ``shared/data/README.md``; records whose label maps to no
domain are expected to stay unclassified. The ambiguous label
``社会保障（社会保险、社会救助）`` is satisfied by either domain: predicting one of them is
correct, and missing both counts once, in the row ``社会保险|社会救助``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rules.model import DOMAINS, ItemText

EITHER = "社会保险|社会救助"
_SINGLE: dict[str, str] = {
    "社会救助": "社会救助",
    "残疾人": "社会救助",
    "就业创业": "就业",
    "找工作": "就业",
    "创业": "就业",
    "失业": "就业",
    "高校毕业生": "就业",
    "退休": "社会保险",
    "医疗卫生": "卫生健康",
    "生小孩": "卫生健康",
    "生育收养": "卫生健康",
    "卫生、体育\\医药管理": "卫生健康",
    "户籍办理": "户籍管理",
    "迁居": "户籍管理",
    "养老服务": "养老服务",
    "老年人": "养老服务",
    "住房保障": "保障性住房",
    "买房子": "保障性住房",
    "涉农补贴": "涉农补贴",
    "农民": "涉农补贴",
    "环保绿化": "生态环境",
    "司法公证": "公共法律服务",
    "规划建设": "城乡规划",
    "公用事业": "市政服务",
    "文化体育": "公共文化服务",
    "文化、广电、新闻出版\\文化": "公共文化服务",
    "纳税": "税收管理",
    "义务教育": "义务教育",
    "升学": "义务教育",
    "综合政务\\应急管理": "救灾",
    "城乡建设、环境保护\\气象、水文、测绘、地震": "救灾",
}
_EITHER_LABEL = "社会保障（社会保险、社会救助）"


def gold_requirements(record: dict[str, object]) -> set[str]:
    """The domains a record must be classified into (``EITHER`` for the ambiguous one).

    A development-set record (``tests/data``) carries its domains as ``labels``.
    """
    labels = record.get("labels")
    if isinstance(labels, list):
        return {str(x) for x in labels}
    label = record.get("original_label")
    if isinstance(label, dict):  # weather warnings
        return {"救灾"}
    names = [label] if isinstance(label, str) else list(label or [])  # type: ignore[call-overload]
    out = {_SINGLE[x] for x in names if x in _SINGLE}
    if _EITHER_LABEL in names:
        out.add(EITHER)
    return out


@dataclass
class Counts:
    """True positives, false positives and false negatives of one row."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def figures(self) -> dict[str, float | int]:
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": round(precision, 3),
            "recall": round(recall, 3),
        }


@dataclass
class Evaluation:
    """Counts per domain (plus the ``EITHER`` row) and over all rows."""

    rows: dict[str, Counts] = field(default_factory=dict)
    unlabelled_items: int = 0
    unlabelled_classified: int = 0

    def row(self, name: str) -> Counts:
        return self.rows.setdefault(name, Counts())

    def add(self, gold: set[str], predicted: set[str]) -> None:
        either = {"社会保险", "社会救助"} if EITHER in gold else set()
        for domain in predicted:
            hit = domain in gold or domain in either
            self.row(domain).tp += hit
            self.row(domain).fp += not hit
        for domain in gold - {EITHER} - predicted:
            self.row(domain).fn += 1
        if either:
            got = bool(either & predicted)
            self.row(EITHER).tp += got
            self.row(EITHER).fn += not got
        if not gold:
            self.unlabelled_items += 1
            self.unlabelled_classified += bool(predicted)

    def micro(self) -> Counts:
        total = Counts()
        for name, c in self.rows.items():
            # EITHER's true positives are already counted on the domain rows
            total.tp += c.tp if name != EITHER else 0
            total.fp += c.fp
            total.fn += c.fn
        return total


def load_records(path: Path) -> list[dict[str, object]]:
    """The sample file's records."""
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def evaluate(
    records: Iterable[dict[str, object]], classify: Callable[[ItemText], Iterable[str]]
) -> Evaluation:
    """Run ``classify`` over every record and count against the mapped labels."""
    result = Evaluation()
    for record in records:
        item = ItemText(id=str(record["id"]), title=str(record["title"]), body=str(record["body"]))
        result.add(gold_requirements(record), set(classify(item)))
    return result


def ordered_rows(result: Evaluation) -> list[str]:
    """Row names in the standard domain order, then the ambiguous row."""
    return [d for d in (*DOMAINS, EITHER) if d in result.rows]
