"""Benchmark of the domain classifier on real notices it was not tuned on.

Rows: per-domain precision and recall on the hand-labelled splits
(``bench/classify/labels.jsonl``, texts rebuilt by ``bench/classify/rebuild.py``): ``test``
(the first split), ``ptn-dev`` (county notices that were unseen until their figures were
used to tune), ``unseen`` and ``unseen2`` (county notices labelled before the classifier
ran on them; their first figures are in ``bench/classify/FIGURES.md``, their misses were
used since), the micro figures, the share of no-domain records given a domain
anyway, the ten worst confusions; then the same micro figures on the shared sample and
on the development set, and the classifier's speed. Without the rebuilt texts the test
rows say where to get them. ``smoke`` classifies the first 20 records of each set only.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rules import build_tokenizer, compile_rules
from rules.domains import DomainClassifier
from rules.evaluate import load_records, ordered_rows
from rules.model import ItemText
from rules.testset import REBUILD_HINT, Measured, load_test_split, measure, no_domain_rate

HERE = Path(__file__).resolve().parent
FOLDER = HERE / "classify"
SAMPLE = HERE.parents[1] / "shared" / "data" / "notices_sample.jsonl"
SAMPLE_FALLBACK = Path("/work/shared/data/notices_sample.jsonl")
DEV_SET = HERE.parent / "tests" / "data" / "dev_notices.jsonl"
SMOKE_RECORDS = 20

Row = dict[str, Any]


def _summary(name: str, m: Measured) -> list[Row]:
    e = m.evaluation
    return [
        {"bench": name, "case": "micro", "items": m.items, **e.micro().figures()},
        {
            "bench": name,
            "case": f"no-domain given one (of {e.unlabelled_items})",
            "fp": e.unlabelled_classified,
            "rate": round(no_domain_rate(e), 3),
        },
    ]


def _test_rows(m: Measured, name: str = "test") -> list[Row]:
    rows = [
        {"bench": name, "case": row, **m.evaluation.rows[row].figures()}
        for row in ordered_rows(m.evaluation)
    ]
    rows += _summary(name, m)
    rows += [
        {"bench": name, "case": f"confusion {gold} → {got}", "count": n}
        for (gold, got), n in m.confusions.most_common(10)
    ]
    return rows


def _speed(classifier: DomainClassifier, records: list[dict[str, object]]) -> list[Row]:
    """Per-item time on the records as they are, and on 2,000-character items (the shape
    ``bench match`` uses: real notices run together), p50 and p99."""
    short = [ItemText(str(r["id"]), str(r["title"]), str(r["body"])) for r in records]
    text = "".join(str(r["body"]) for r in records if r["body"])
    long = [
        ItemText(item.id, item.title, text[i * 97 % 1000 :][:2000])
        for i, item in enumerate(short[:200])
    ]
    rows = []
    for name, items in (("as stored", short), ("2,000 characters", long)):
        times = []
        for item in items:
            started = time.perf_counter()
            classifier.classify(item)
            times.append(time.perf_counter() - started)
        times.sort()
        rows.append(
            {
                "bench": "speed",
                "case": f"{len(items)} items {name}",
                "p50_ms": round(times[len(times) // 2] * 1000, 3) if times else None,
                "p99_ms": round(times[int(len(times) * 0.99)] * 1000, 3) if times else None,
            }
        )
    return rows


def _with_rules(rule_count: int, item_count: int) -> Row:
    """Thread CPU per 2,000-character item of matching ``rule_count`` rules plus domain
    classification (the pipeline's match step without the database), p50 and p99."""
    from bench_match import generate_items, generate_rules

    tokenizer = build_tokenizer()
    matcher = compile_rules(generate_rules(rule_count), tokenizer=tokenizer)
    classifier = DomainClassifier(tokenizer=tokenizer)
    items = generate_items(item_count, rule_count)
    times = []
    for item in items * 3:
        started = time.thread_time()
        matcher.match(item)
        classifier.classify(item)
        times.append(time.thread_time() - started)
    times.sort()
    return {
        "bench": "speed",
        "case": f"match {rule_count} rules + classify, thread CPU",
        "p50_ms": round(times[len(times) // 2] * 1000, 3),
        "p99_ms": round(times[int(len(times) * 0.99)] * 1000, 3),
    }


def run(*, quick: bool = False, smoke: bool = False) -> list[Row]:
    """Figures of the domain classifier on the test split, the sample and the dev set."""
    classifier = DomainClassifier(tokenizer=build_tokenizer())

    def domains(item: ItemText) -> list[str]:
        return [h.domain for h in classifier.classify(item)]

    limit = SMOKE_RECORDS if smoke else None
    rows: list[Row] = []
    test: list[dict[str, object]] = []
    for split in ("test", "ptn-dev", "unseen", "unseen2"):
        records, missing = load_test_split(FOLDER, split=split)
        if missing:
            rows.append({"bench": split, "case": f"{len(missing)} texts missing: {REBUILD_HINT}"})
        if records:
            rows += _test_rows(measure(records[:limit], domains), split)
        test += records[:limit]
    sample_path = SAMPLE if SAMPLE.is_file() else SAMPLE_FALLBACK
    sample = load_records(sample_path)[:limit]
    rows += _summary("shared sample", measure(sample, domains))
    dev = load_records(DEV_SET)[:limit]
    rows += _summary("dev set", measure(dev, domains))
    rows += _speed(classifier, sample + dev + test[:limit])
    if not smoke:
        rows.append(_with_rules(1_000 if quick else 10_000, 100 if quick else 300))
    return rows
