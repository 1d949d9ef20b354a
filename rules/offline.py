"""Offline matching: a rules file and an items file in, one JSON line per item out.

Rules file (YAML)::

    groups:
      - name: 养老服务
        any: [养老, 高龄津贴, 老年人]
        none: [招聘]
        fields: [title, body]    # optional; also all, region, domains, urgency
      - name: 低保户
        rule: "低保 | 最低生活保障 & !招聘"   # or the compact form

Items file: JSON lines with ``id``, ``title``, ``body`` and optional ``region`` (a region
code, read as the region path ``(region,)``), ``region_path`` (codes from the county down;
wins over ``region``), ``domains`` and ``urgency``. A malformed line is reported on stderr
with its line number (``pusher match: items.jsonl:7: invalid JSON (…)``) and skipped; the
other items are still matched and the exit code stays 0. A missing file or an unusable
rules file is fatal: one line on stderr, exit code 2, nothing on stdout. Output per item::

    {"id": …, "domains": [...], "groups": [{"name": …, "rules": [compact rule, …],
     "reasons": [{"keyword": …, "field": …, "offset": …, "matched_text": …, "rule": …}]}]}
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

import yaml

from rules.compiler import compile_rules
from rules.domains import DomainClassifier
from rules.loader import InputError, iter_items, load_rules
from rules.matcher import Matcher
from rules.model import ItemText, RuleSpec
from rules.tokenizer import build_tokenizer

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def _line(item: ItemText, matcher: Matcher, classifier: DomainClassifier) -> str:
    record = {
        "id": item.id,
        "domains": [h.domain for h in classifier.classify(item)],
        "groups": [
            {
                "name": m.group,
                "rules": list(m.rules),
                "reasons": [
                    {
                        "keyword": r.keyword,
                        "field": r.field,
                        "offset": r.offset,
                        "matched_text": r.matched_text,
                        "rule": r.rule,
                    }
                    for r in m.reasons
                ],
            }
            for m in matcher.match(item)
        ],
    }
    return json.dumps(record, ensure_ascii=False)


def _check_readable(*paths: Path) -> None:
    for path in paths:
        if not path.is_file():
            raise InputError(f"{path}: no such file")


def _load(rules_path: Path, items_path: Path) -> list[RuleSpec]:
    _check_readable(rules_path, items_path)
    try:
        return load_rules(rules_path)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" line {where.line + 1}" if where is not None else ""
        raise InputError(f"{rules_path}{line}: invalid YAML") from None


def run_match(
    rules_path: Path,
    items_path: Path,
    out: TextIO,
    *,
    err: TextIO | None = None,
    cache_dir: Path | None = None,
) -> int:
    """Match every item against the rules, writing JSON lines to ``out``; the exit code.

    A missing file or a bad rules file gives one line on ``err`` (stderr by default) and
    exit code 2. A malformed item line is reported on ``err`` with its line number and
    skipped; the other items are matched and the exit code is 0.
    """
    err = err if err is not None else sys.stderr
    try:
        specs = _load(rules_path, items_path)
    except (InputError, OSError, UnicodeDecodeError) as exc:
        print(f"pusher match: {exc}", file=err)
        return EXIT_BAD_INPUT
    tokenizer = build_tokenizer(cache_dir=cache_dir)
    matcher = compile_rules(specs, tokenizer=tokenizer)
    classifier = DomainClassifier(tokenizer=tokenizer)
    try:
        for entry in iter_items(items_path):
            if isinstance(entry, InputError):
                print(f"pusher match: {entry} (skipped)", file=err)
            else:
                print(_line(entry, matcher, classifier), file=out)
    except OSError as exc:
        print(f"pusher match: {exc}", file=err)
        return EXIT_BAD_INPUT
    return EXIT_OK
