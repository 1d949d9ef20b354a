"""The labelled development set and the classifiers' floor on it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from rules import DOMAINS, DomainClassifier, ItemText, Tokenizer, classify_urgency
from rules.evaluate import evaluate, load_records
from rules.model import URGENCIES

DEV_SET = Path(__file__).resolve().parents[1] / "data" / "dev_notices.jsonl"


@pytest.fixture(scope="module")
def records() -> list[dict[str, object]]:
    return load_records(DEV_SET)


def test_dev_set_is_well_formed(records: list[dict[str, object]]) -> None:
    assert 60 <= len(records) <= 100
    assert len({r["id"] for r in records}) == len(records)
    for r in records:
        assert set(r) == {"id", "title", "body", "labels", "urgency", "source", "text"}, r["id"]
        assert isinstance(r["labels"], list) and set(r["labels"]) <= set(DOMAINS), r["id"]
        assert r["urgency"] in URGENCIES and len(str(r["body"])) <= 500
        real = str(r["source"]).startswith("http")
        assert r["text"] == ("condensed" if real else "written") and (
            real or r["source"] == "written"
        )
    covered = Counter(d for r in records for d in r["labels"])  # type: ignore[attr-defined]
    assert set(covered) == set(DOMAINS)
    assert sum(1 for r in records if not r["labels"]) >= 5


def test_domain_classifier_keeps_its_level_on_the_dev_set(
    records: list[dict[str, object]], tokenizer: Tokenizer
) -> None:
    classifier = DomainClassifier(tokenizer=tokenizer)
    result = evaluate(records, lambda item: [h.domain for h in classifier.classify(item)])
    figures = result.micro().figures()
    assert figures["precision"] >= 0.75 and figures["recall"] >= 0.95, figures
    assert result.unlabelled_classified <= 2


def test_urgency_on_the_dev_set_flags_no_ordinary_notice(
    records: list[dict[str, object]],
) -> None:
    got = {
        str(r["id"]): classify_urgency(ItemText(str(r["id"]), str(r["title"]), str(r["body"])))
        for r in records
    }
    urgent = {str(r["id"]) for r in records if r["urgency"] == "urgent"}
    flagged = {i for i, u in got.items() if u == "urgent"}
    assert flagged <= urgent
    assert len(flagged) >= len(urgent) - 2
