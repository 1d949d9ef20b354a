"""The hand-labelled classification test split (``bench/classify/``) and its figures.

Labels and ids are committed (``labels.jsonl``); the texts are rebuilt from their public
sources by ``bench/classify/rebuild.py`` into ``bench/classify/texts/`` (not committed).
:func:`load_test_split` joins the two and says what is missing; :func:`measure` counts
per domain, over all (micro), the no-domain records given one, and the worst confusions.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rules.evaluate import EITHER, Evaluation, gold_requirements
from rules.model import ItemText

NONE = "∅"
REBUILD_HINT = (
    "the test texts are not committed: run `python bench/classify/rebuild.py` "
    "(it reads clones of v-luobo/zwfw, ZhouYNF/platform-1 and "
    "changwu/pingtan-gov-zwgk-archive from GitHub, see its --help)"
)


@dataclass
class Measured:
    """An evaluation plus the confusions (gold, predicted) that were wrong."""

    evaluation: Evaluation
    confusions: Counter[tuple[str, str]] = field(default_factory=Counter)
    items: int = 0


def load_test_split(
    folder: Path, *, split: str = "test"
) -> tuple[list[dict[str, object]], list[str]]:
    """The labelled records of ``split`` with their texts, and the ids whose text is
    missing (``test``: the first split; ``unseen``, ``unseen2``: notices labelled before
    the classifier first ran on them, see ``bench/classify/LABELLING.md``)."""
    texts: dict[str, dict[str, object]] = {}
    for path in sorted((folder / "texts").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                texts[str(record["id"])] = record
    records, missing = [], []
    for line in (folder / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        label = json.loads(line)
        if label.get("split") != split:
            continue
        text = texts.get(str(label["id"]))
        if text is None:
            missing.append(str(label["id"]))
        else:
            records.append({**text, "labels": list(label["labels"])})
    return records, missing


def measure(
    records: Iterable[dict[str, object]], classify: Callable[[ItemText], Iterable[str]]
) -> Measured:
    """Run ``classify`` over labelled records; count rows, micro figures and confusions."""
    out = Measured(Evaluation())
    for record in records:
        item = ItemText(id=str(record["id"]), title=str(record["title"]), body=str(record["body"]))
        gold, predicted = gold_requirements(record), set(classify(item))
        out.evaluation.add(gold, predicted)
        out.items += 1
        _confuse(out.confusions, gold, predicted)
    return out


def _confuse(confusions: Counter[tuple[str, str]], gold: set[str], predicted: set[str]) -> None:
    """One count per wrong domain (gold → it), and per missed one when nothing wrong was
    predicted instead (missed → ∅); either of the ambiguous label's domains is right."""
    either = set(EITHER.split("|")) if EITHER in gold else set()
    wrong = sorted(predicted - gold - either)
    for name in wrong:
        confusions[("/".join(sorted(gold)) or NONE, name)] += 1
    if not wrong:
        for name in sorted(gold - predicted - ({EITHER} if either & predicted else set())):
            confusions[(name, NONE)] += 1


def no_domain_rate(result: Evaluation) -> float:
    """The share of records of no domain that were given one anyway."""
    if not result.unlabelled_items:
        return 0.0
    return result.unlabelled_classified / result.unlabelled_items
