"""Benchmark of keyword matching: 1k, 10k and 100k rules over 2,000-character items.

``run(quick=...)`` returns rows of figures; the harness prints them and writes JSON.

Rules are generated from realistic vocabulary: the domain dictionary, everyday notice
words (停水, 报名 …), generated village names with region codes, and their combinations
(topic rules, village-scoped rules, village-name rules, title-scoped pairs, urgent
town-wide rules). Items are real sample notices run together to 2,000 characters, some
naming a village, each placed in a village. For each size: compile time, p50/p99 match
time with jieba's boundary veto (segmentation) and without it, and a naive loop
(``form in text`` over every rule's terms with the same normalisation and synonyms).
Percentiles are plain: over every timed call (each item ``PASSES`` times; the naive
loop once per item), not over each item's best. The matcher without segmentation must
give exactly the naive loop's groups on every item (asserted), and the naive ratio
divides medians over the same items. Targets: p50 ≤ 6 ms with segmentation at 10k
rules; 100k rules ≤ 3× the 1k p50; ≥ 10× faster than the naive loop at 10k. Quick mode
skips 100k rules. Domain classification is scored on the sample file and on
``tests/data/dev_notices.jsonl``.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rules import DomainClassifier, ItemText, RuleSpec, build_tokenizer, compile_rules
from rules.ahocorasick import build_automaton
from rules.evaluate import evaluate, load_records, ordered_rows
from rules.parser import split_scope
from rules.resources import dictionary_words, domain_keywords
from rules.synonyms import load_synonyms
from rules.text import normalize
from rules.tokenizer import Tokenizer

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared" / "data" / "notices_sample.jsonl"
SAMPLE_FALLBACK = Path("/work/shared/data/notices_sample.jsonl")
DEV_SET = ROOT / "tests" / "data" / "dev_notices.jsonl"
ITEM_CHARS = 2_000
PASSES = 3
RULES_PER_VILLAGE = 20
COUNTY, TOWNS = "360123", 12
# Words of village notices that are not policy terms (so jieba judges their boundaries).
EVERYDAY = [
    *("停水", "停电", "修路", "开会", "体检", "缴费", "培训", "核酸", "疫苗", "清明", "防火"),
    *("防汛", "转移", "暴雨", "台风", "大风", "寒潮", "高温", "积水", "垃圾", "路灯", "义诊"),
    *("招聘", "演练", "整改", "巡查", "志愿者", "广场舞", "网格员", "村委会", "居委会"),
]
PREFIX = "东西南北上下前后新老大小中高长白青黄红金石竹松柏桃李杨柳梅兰荷花马牛龙凤"
SUFFIX = "塘湖山岭桥庄岗坪坝湾溪源田坑冲口洲坊店铺园林寨堡营圩垅"
Row = dict[str, object]
Cond = tuple[tuple[str, ...], tuple[str, ...]]  # fields, forms


def _sample_path() -> Path:
    return SAMPLE if SAMPLE.is_file() else SAMPLE_FALLBACK


def villages(count: int) -> list[tuple[str, str, str]]:
    """``(name, village code, town code)`` of ``count`` generated villages (≤ 48,000)."""
    short = [f"{p}{s}" for p in PREFIX for s in SUFFIX]
    longer = [f"{p}{q}{s}" for p in PREFIX for q in PREFIX if q != p for s in SUFFIX]
    names = [f"{n}{k}" for n in (*short, *longer) for k in ("村", "社区")][:count]
    out = []
    for i, name in enumerate(names):
        town = f"{COUNTY}{101 + i % TOWNS:03d}"
        out.append((name, f"{town}{i // TOWNS:04d}", town))
    return out


def _places(rule_count: int) -> list[tuple[str, str, str]]:
    # A county with more rules has more villages, not more rules per village.
    return villages(max(1, rule_count // RULES_PER_VILLAGE))


def _topic_words() -> list[str]:
    return sorted({w for entries in domain_keywords().values() for w, _ in entries})


def generate_rules(count: int, *, seed: int = 7) -> list[RuleSpec]:
    """``count`` rules: county-wide ones, then village and town ones filling the rest.

    County-wide topic rules (any of 2–4 dictionary words, some with ``!招聘``) and
    title-scoped pairs do not multiply with villages: at most 400 and 300 of them; each
    town has one urgent weather rule. The rest, as in a county of many villages, are per
    village (about 20 each): region-scoped topic rules and village-name rules
    (``南塘村 & 低保``).
    """
    rng = random.Random(seed)
    topics, vocab, places = _topic_words(), sorted(dictionary_words()), _places(count)
    words = topics + EVERYDAY
    rules: list[RuleSpec] = []
    for _ in range(min(400, count // 5)):
        none = ("招聘",) if rng.random() < 0.3 else ()
        any_ = tuple(rng.sample(vocab, rng.randint(2, 4)))
        rules.append(RuleSpec(group=f"topic-{len(rules) % 200}", any=any_, none=none))
    for _ in range(min(300, count // 10)):
        first, second = rng.sample(words, 2)
        rules.append(RuleSpec(group=f"pair-{len(rules)}", all=(f"title:{first}", second)))
    for town in sorted({town for _, _, town in places})[: max(0, count - len(rules))]:
        urgent = ("暴雨", "台风", "预警")
        rules.append(RuleSpec(group=f"{town}-急", any=urgent, region=town, urgency="urgent"))
    while len(rules) < count:
        rules.append(_local_rule(rng, rng.choice(places), words, topics))
    return rules


def _local_rule(
    rng: random.Random, place: tuple[str, str, str], words: list[str], topics: list[str]
) -> RuleSpec:
    name, code, _ = place
    if rng.random() < 0.6:
        any_ = tuple(rng.sample(words, 2))
        return RuleSpec(group=f"{name}-{rng.randint(0, 6)}", any=any_, region=code)
    return RuleSpec(group=f"{name}-名", any=(name,), all=(rng.choice(topics),))


def generate_items(count: int, rule_count: int, *, seed: int = 11) -> list[ItemText]:
    """``count`` items of real notice text run together to 2,000 characters.

    Each item lies in, and some name, villages of a rule set of ``rule_count`` rules.
    """
    rng = random.Random(seed)
    records = load_records(_sample_path())
    places = _places(rule_count)
    items = []
    for i in range(count):
        name, code, town = rng.choice(places)
        body = ""
        while len(body) < ITEM_CHARS:
            body += str(rng.choice(records)["body"])
            if rng.random() < 0.3:
                body += f"{name}{rng.choice(EVERYDAY)}。"
        title = str(rng.choice(records)["title"])
        urgency = "urgent" if rng.random() < 0.1 else "normal"
        path = (COUNTY, town, code)
        items.append(ItemText(str(i), title, body[:ITEM_CHARS], path, (), urgency))
    return items


class NaiveMatcher:
    """The reference: ``form in text`` for every form of every keyword of every rule."""

    def __init__(self, specs: Sequence[RuleSpec]) -> None:
        table = load_synonyms()

        def conds(spec: RuleSpec, keywords: tuple[str, ...]) -> list[Cond]:
            out = []
            for keyword in keywords:
                fields, word = split_scope(keyword, spec.fields)
                forms = table.forms(table.canonical(normalize(word.strip())))
                out.append((fields, forms))
            return out

        self._rules = [(s, conds(s, s.any), conds(s, s.all), conds(s, s.none)) for s in specs]

    def match(self, item: ItemText) -> set[str]:
        text = {"title": normalize(item.title), "body": normalize(item.body)}

        def found(cond: Cond) -> bool:
            fields, forms = cond
            return any(form in text[f] for f in fields for form in forms)

        groups = set()
        for spec, any_, all_, none in self._rules:
            if spec.urgency is not None and item.urgency != spec.urgency:
                continue
            if spec.region is not None and spec.region not in item.region_path:
                continue
            if any(map(found, none)) or not all(map(found, all_)):
                continue
            if any_ and not any(map(found, any_)):
                continue
            groups.add(spec.group)
        return groups


def _times(
    match: Callable[[ItemText], object], items: Sequence[ItemText], passes: int
) -> list[float]:
    """Every call's time, ``passes`` calls per item, sorted: plain percentiles, no best-of.

    The collector runs as in the service (which freezes a county's compiled rules, as
    ``compile_rules`` does here); the calls share the cores with other processes.
    """
    match(items[0])  # warm lazy pieces
    times = []
    for _ in range(passes):
        for item in items:
            start = time.perf_counter()
            match(item)
            times.append(time.perf_counter() - start)
    return sorted(times)


def _identical_and_naive_times(
    plain: Callable[[ItemText], set[str]], naive: NaiveMatcher, items: Sequence[ItemText]
) -> list[float]:
    """Check the matcher without segmentation against the naive loop on every item, timing
    the naive loop's one call per item (it is too slow for more passes at 100k rules)."""
    times = []
    for item in items:
        start = time.perf_counter()
        expected = naive.match(item)
        times.append(time.perf_counter() - start)
        assert plain(item) == expected, f"matcher and naive loop differ on item {item.id}"
    return sorted(times)


def _ms(times: list[float], q: float) -> float:
    return round(times[min(len(times) - 1, int(len(times) * q))] * 1e3, 3)


def _size_row(count: int, n_items: int, tok: Tokenizer) -> Row:
    specs, items = generate_rules(count), generate_items(n_items, count)
    start, cpu = time.perf_counter(), time.process_time()
    matcher = compile_rules(specs, tokenizer=tok)
    compiled, compiled_cpu = time.perf_counter() - start, time.process_time() - cpu
    plain = compile_rules(specs, tokenizer=None)
    slow = _identical_and_naive_times(
        lambda item: {m.group for m in plain.match(item)}, NaiveMatcher(specs), items
    )
    seg, flat = _times(matcher.match, items, PASSES), _times(plain.match, items, PASSES)
    groups = statistics.mean(len(matcher.match(item)) for item in items)
    return {
        "bench": "match",
        "case": f"{count} rules",
        "compile_s": round(compiled, 2),
        "compile_cpu_s": round(compiled_cpu, 2),
        "p50_ms": _ms(seg, 0.5),
        "p99_ms": _ms(seg, 0.99),
        "p50_ms_no_seg": _ms(flat, 0.5),
        "p99_ms_no_seg": _ms(flat, 0.99),
        "naive_p50_ms": _ms(slow, 0.5),
        # the same items on both sides: medians of every call over all of them
        "naive_ratio": round(statistics.median(slow) / statistics.median(flat), 1),
        "identical_on": f"{len(items)} items (all)",
        "calls_timed": f"{len(seg)} with seg, {len(flat)} without, {len(slow)} naive",
        "automaton": automaton_kind(),
        "groups_per_item": round(groups, 1),
    }


def automaton_kind() -> str:
    """Which Aho-Corasick automaton the matcher uses here."""
    native = type(build_automaton([("x", 0)])).__name__ == "NativeAutomaton"
    return "pyahocorasick" if native else "pure Python"


def _targets(rows: list[Row]) -> list[Row]:
    by = {str(r["case"]): r for r in rows}
    ten = by["10000 rules"]
    out: list[Row] = [
        {"bench": "target", "case": "p50 ≤ 6 ms at 10k", "value": ten["p50_ms"]},
        {"bench": "target", "case": "≥ 10× naive at 10k", "value": ten["naive_ratio"]},
    ]
    out[0]["ok"] = float(str(ten["p50_ms"])) <= 6
    out[1]["ok"] = float(str(ten["naive_ratio"])) >= 10
    if "100000 rules" in by:
        ratio = float(str(by["100000 rules"]["p50_ms"])) / float(str(by["1000 rules"]["p50_ms"]))
        out.append({"bench": "target", "case": "100k ≤ 3× 1k", "value": round(ratio, 2)})
        out[-1]["ok"] = ratio <= 3
        compiled = by["100000 rules"]["compile_s"]
        out.append({"bench": "target", "case": "compile 100k ≤ 3 s", "value": compiled})
        out[-1]["ok"] = float(str(compiled)) <= 3
    return out


def _domain_rows(name: str, path: Path, classifier: DomainClassifier) -> list[Row]:
    if not path.is_file():
        return []
    result = evaluate(load_records(path), lambda i: [h.domain for h in classifier.classify(i)])
    rows: list[Row] = [
        {"bench": f"domains {name}", "case": row, **result.rows[row].figures()}
        for row in ordered_rows(result)
    ]
    rows.append({"bench": f"domains {name}", "case": "micro", **result.micro().figures()})
    rows.append(
        {
            "bench": f"domains {name}",
            "case": f"unlabelled classified anyway (of {result.unlabelled_items})",
            "fp": result.unlabelled_classified,
        }
    )
    return rows


def run(*, quick: bool, smoke: bool = False) -> list[Row]:
    """All rows; quick mode: 1k and 10k rules, 100 items; smoke: the same rules, 20 items."""
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        tok = build_tokenizer(cache_dir=cache)
        rows: list[Row] = [
            {
                "bench": "tokenizer",
                "case": "build",
                "seconds": round(time.perf_counter() - start, 2),
            }
        ]
    sizes = (1_000, 10_000) if quick or smoke else (1_000, 10_000, 100_000)
    n_items = 20 if smoke else 100 if quick else 300
    size_rows = [_size_row(n, n_items, tok) for n in sizes]
    rows += size_rows + _targets(size_rows)
    classifier = DomainClassifier(tokenizer=tok)
    rows += _domain_rows("sample", _sample_path(), classifier)
    rows += _domain_rows("dev", DEV_SET, classifier)
    return rows


if __name__ == "__main__":
    for row in run(quick=True):
        print(row)
