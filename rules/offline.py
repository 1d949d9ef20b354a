"""Offline matching: a rules file and an items file in, one JSON line per item out.

Rules file (YAML)::

    groups:
      - name: 养老服务
        any: [养老, 高龄津贴, 老年人]
        none: [招聘]
        fields: [title, body]    # optional; also all, region, domains, urgency
      - name: 低保户
        rule: "低保 | 最低生活保障 & !招聘"   # or the compact form

Items file: JSON lines with ``id``, ``title``, ``body`` and optional ``region_path``,
``domains``, ``urgency``. Output per item::

    {"id": …, "domains": [...], "groups": [{"name": …, "rules": [compact rule, …],
     "reasons": [{"keyword": …, "field": …, "offset": …, "matched_text": …, "rule": …}]}]}
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

import yaml

from rules.domains import DomainClassifier
from rules.loader import InputError, iter_items, load_rules
from rules.matcher import Matcher, compile_rules
from rules.model import ItemText
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


def run_match(
    rules_path: Path,
    items_path: Path,
    out: TextIO,
    *,
    err: TextIO | None = None,
    cache_dir: Path | None = None,
) -> int:
    """Match every item against the rules, writing JSON lines to ``out``; the exit code.

    Bad input gives one line on ``err`` (stderr by default) and exit code 2. Items are
    all read and checked before anything is written.
    """
    err = err if err is not None else sys.stderr
    try:
        _check_readable(rules_path, items_path)
        specs = load_rules(rules_path)
        items = list(iter_items(items_path))
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" line {where.line + 1}" if where is not None else ""
        print(f"pusher match: {rules_path}{line}: invalid YAML", file=err)
        return EXIT_BAD_INPUT
    except (InputError, OSError, UnicodeDecodeError) as exc:
        print(f"pusher match: {exc}", file=err)
        return EXIT_BAD_INPUT
    tokenizer = build_tokenizer(cache_dir=cache_dir)
    matcher = compile_rules(specs, tokenizer=tokenizer)
    classifier = DomainClassifier(tokenizer=tokenizer)
    for item in items:
        print(_line(item, matcher, classifier), file=out)
    return EXIT_OK
