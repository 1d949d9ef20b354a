"""Benchmark of the rules package: tokenizer build, compile, match throughput, domains.

``run(quick=...)`` returns rows of figures; the harness prints them and writes JSON.
Match throughput is measured with 10, 1,000 and 10,000 rules generated from the domain
dictionary over the real sample notices, to show the cost per item does not grow with
the number of rules. Domain classification is scored against the sample file's labels
(mapping in :mod:`rules.evaluate`).
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

from rules import (
    DomainClassifier,
    ItemText,
    Matcher,
    RuleSpec,
    build_tokenizer,
    compile_rules,
)
from rules.evaluate import evaluate, load_records, ordered_rows
from rules.resources import dictionary_words, domain_keywords
from rules.tokenizer import Tokenizer

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "notices_sample.jsonl"
SAMPLE_FALLBACK = Path("/work/shared/data/notices_sample.jsonl")
RULE_COUNTS = (10, 1_000, 10_000)

Row = dict[str, object]


def _sample_path() -> Path:
    return SAMPLE if SAMPLE.is_file() else SAMPLE_FALLBACK


def _tokenizer_rows() -> tuple[list[Row], Tokenizer]:
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        build_tokenizer(cache_dir=cache)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        tokenizer = build_tokenizer(cache_dir=cache)
        cached = time.perf_counter() - start
    rows: list[Row] = [
        {"bench": "tokenizer_build", "case": "cold (no cache)", "seconds": round(cold, 3)},
        {"bench": "tokenizer_build", "case": "cached", "seconds": round(cached, 3)},
    ]
    return rows, tokenizer


def generate_rules(count: int, *, seed: int = 7) -> list[RuleSpec]:
    """``count`` rules: one per domain list first, then rules of dictionary-word pairs."""
    rng = random.Random(seed)
    real = [
        RuleSpec(group=f"domain-{d}", any=tuple(w for w, _ in words[:5]))
        for d, words in sorted(domain_keywords().items())
    ][:count]
    vocab = sorted(dictionary_words())
    rules = list(real)
    while len(rules) < count:
        keywords = tuple(rng.choice(vocab) + rng.choice(vocab) for _ in range(3))
        rules.append(RuleSpec(group=f"g{len(rules)}", any=keywords, none=(rng.choice(vocab),)))
    return rules


def _items(records: list[dict[str, object]]) -> list[ItemText]:
    return [ItemText(id=str(r["id"]), title=str(r["title"]), body=str(r["body"])) for r in records]


def _timed_pass(matcher: Matcher, items: list[ItemText]) -> float:
    start = time.perf_counter()
    for item in items:
        matcher.match(item)
    return time.perf_counter() - start


def _match_rows(items: list[ItemText], tokenizer: Tokenizer, passes: int) -> list[Row]:
    rows: list[Row] = []
    for count in RULE_COUNTS:
        specs = generate_rules(count)
        start = time.perf_counter()
        matcher = compile_rules(specs, tokenizer=tokenizer)
        compiled = time.perf_counter() - start
        matcher.match(items[0])  # warm the lazy pieces
        groups = sum(len(matcher.match(item)) for item in items)
        elapsed = min(_timed_pass(matcher, items) for _ in range(passes))
        n = len(items)
        rows.append(
            {
                "bench": "match",
                "case": f"{count} rules",
                "compile_s": round(compiled, 3),
                "items": n,
                "passes": passes,
                "items_per_s": round(n / elapsed),
                "us_per_item": round(elapsed / n * 1e6),
                "groups_per_item": round(groups / n, 2),
            }
        )
    return rows


def _domain_rows(records: list[dict[str, object]], tokenizer: Tokenizer) -> list[Row]:
    classifier = DomainClassifier(tokenizer=tokenizer)
    result = evaluate(records, lambda item: [h.domain for h in classifier.classify(item)])
    rows: list[Row] = [
        {"bench": "domains", "case": name, **result.rows[name].figures()}
        for name in ordered_rows(result)
    ]
    rows.append({"bench": "domains", "case": "micro-average", **result.micro().figures()})
    rows.append(
        {
            "bench": "domains",
            "case": "unlabelled records classified anyway",
            "tp": 0,
            "fp": result.unlabelled_classified,
            "fn": 0,
            "precision": "",
            "recall": f"of {result.unlabelled_items}",
        }
    )
    return rows


def run(*, quick: bool) -> list[Row]:
    """All benchmark rows; throughput is the best of 2 (quick) or 5 passes over the sample."""
    rows, tokenizer = _tokenizer_rows()
    records = load_records(_sample_path())
    rows += _match_rows(_items(records), tokenizer, passes=2 if quick else 5)
    rows += _domain_rows(records, tokenizer)
    return rows


if __name__ == "__main__":
    for row in run(quick=True):
        print(row)
