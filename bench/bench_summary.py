"""Benchmark of the summary package over the 337 real sample notices.

``run(quick=...)`` returns rows of figures: how many SMS fit their segments (must be
all), how many keep a deadline / amount that the body contains at 1 and 3 segments,
mean SMS length, WeChat fields and WeCom markdown within limits, and summaries per
second (summarise + render all three channels).
"""

from __future__ import annotations

import json
import re
import time
import warnings
from pathlib import Path
from statistics import mean
from typing import TYPE_CHECKING

from pusher.summary import (
    Notice,
    Summary,
    field_fits,
    render_sms,
    render_wechat_fields,
    render_wecom_markdown,
    sms_length,
    sms_segments,
    summarize,
)
from pusher.summary.sms import primary_deadline

if TYPE_CHECKING:
    import jieba

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "notices_sample.jsonl"
SAMPLE_FALLBACK = Path("/work/shared/data/notices_sample.jsonl")
SIGNATURE = "某某镇人民政府"
LINK = "https://gk.example.gov.cn/item/20240301"
FIELDS = {
    "thing1": "thing",
    "time2": "time",
    "thing3": "thing",
    "phrase4": "phrase",
    "phone_number5": "phone_number",
}

# Independent of the extractor's patterns: what a reader would call a date or a sum.
PLAIN_DATE = re.compile(r"\d{4}年\d{1,2}月(?:\d{1,2}日)?|\d{1,2}月\d{1,2}日")
PLAIN_AMOUNT = re.compile(r"\d+(?:\.\d+)?(?:万|亿)?元")

Row = dict[str, object]


def _sample_path() -> Path:
    return SAMPLE if SAMPLE.is_file() else SAMPLE_FALLBACK


def load_notices(path: Path) -> list[Notice]:
    """The sample records as notices; weather warnings (qwd-*) are urgent."""
    notices = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            notices.append(
                Notice(
                    title=record["title"],
                    body=record["body"],
                    publisher=record.get("issuer") or "",
                    urgency="urgent" if record["id"].startswith("qwd-") else "normal",
                )
            )
    return notices


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "n/a"


def _plain_kept(body: str, sms: str, pattern: re.Pattern[str]) -> bool | None:
    """None when the body has no match; else whether any match is in the SMS."""
    found = pattern.findall(body)
    return any(f in sms for f in found) if found else None


def _count_row(base: Row, case: str, flags: list[bool | None]) -> Row:
    """Count of True among the flags that apply (None: the case does not apply)."""
    relevant = [f for f in flags if f is not None]
    count = sum(relevant)
    share = _share(count, len(relevant))
    return {**base, "case": case, "count": count, "of": len(relevant), "share": share}


def _sms_rows(
    notices: list[Notice], summaries: list[Summary], tokenizer: jieba.Tokenizer, segments: int
) -> list[Row]:
    texts = [
        render_sms(s, signature=SIGNATURE, link=LINK, max_segments=segments, tokenizer=tokenizer)
        for s in summaries
    ]
    pairs = list(zip(summaries, texts, strict=True))
    bodies = [n.body for n in notices]
    deadline = [
        primary_deadline(s.facts.deadlines) in t if s.facts.deadlines else None for s, t in pairs
    ]
    amount = [s.facts.amounts[0] in t if s.facts.amounts else None for s, t in pairs]
    base: Row = {"bench": "sms", "max_segments": segments}
    return [
        _count_row(base, "fit max segments", [sms_segments(t) <= segments for t in texts]),
        _count_row(base, "keep extracted deadline", deadline),
        _count_row(base, "keep extracted amount", amount),
        _count_row(
            base,
            "keep a body date (plain regex)",
            [_plain_kept(b, t, PLAIN_DATE) for b, t in zip(bodies, texts, strict=True)],
        ),
        _count_row(
            base,
            "keep a body amount (plain regex)",
            [_plain_kept(b, t, PLAIN_AMOUNT) for b, t in zip(bodies, texts, strict=True)],
        ),
        _count_row(base, "carry link", [LINK in t for t in texts]),
        {
            **base,
            "case": "mean length (chars incl. signature)",
            "value": round(mean(sms_length(t) for t in texts), 1),
        },
    ]


def _other_channel_rows(summaries: list[Summary], tokenizer: jieba.Tokenizer) -> list[Row]:
    fields_ok = 0
    md_ok = 0
    for s in summaries:
        fields = render_wechat_fields(s, fields=FIELDS, tokenizer=tokenizer)
        fields_ok += all(field_fits(FIELDS[k], v) for k, v in fields.items())
        md_ok += len(render_wecom_markdown(s, link=LINK).encode("utf-8")) <= 4096
    n = len(summaries)
    return [
        {"bench": "wechat", "case": "all fields within type limits", "count": fields_ok, "of": n},
        {"bench": "wecom", "case": "markdown ≤ 4096 bytes", "count": md_ok, "of": n},
    ]


def _fact_rows(summaries: list[Summary]) -> list[Row]:
    kinds = ("deadlines", "amounts", "places", "eligible", "phones")
    return [
        {
            "bench": "facts",
            "case": f"notices with {kind}",
            "count": sum(bool(getattr(s.facts, kind)) for s in summaries),
            "of": len(summaries),
        }
        for kind in kinds
    ]


def _throughput_row(notices: list[Notice], tokenizer: jieba.Tokenizer, passes: int) -> Row:
    best = float("inf")
    for _ in range(passes):
        started = time.perf_counter()
        for notice in notices:
            s = summarize(notice, tokenizer=tokenizer)
            render_sms(s, signature=SIGNATURE, link=LINK, tokenizer=tokenizer)
            render_wechat_fields(s, fields=FIELDS, tokenizer=tokenizer)
            render_wecom_markdown(s, link=LINK)
        best = min(best, time.perf_counter() - started)
    return {
        "bench": "throughput",
        "case": "summaries per second (all channels)",
        "value": round(len(notices) / best),
        "passes": passes,
    }


def _tokenizer() -> jieba.Tokenizer:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # jieba's sources warn when compiled
        import jieba as jieba_module
    tokenizer = jieba_module.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def run(*, quick: bool, smoke: bool = False) -> list[Row]:
    """All rows; throughput is the best of 1 (smoke), 2 (quick) or 5 passes over the sample."""
    tokenizer = _tokenizer()
    notices = load_notices(_sample_path())
    summaries = [summarize(n, tokenizer=tokenizer) for n in notices]
    rows: list[Row] = [{"bench": "sample", "case": "notices", "count": len(notices)}]
    rows += _fact_rows(summaries)
    for segments in (1, 3):
        rows += _sms_rows(notices, summaries, tokenizer, segments)
    rows += _other_channel_rows(summaries, tokenizer)
    rows.append(_throughput_row(notices, tokenizer, passes=1 if smoke else 2 if quick else 5))
    return rows


if __name__ == "__main__":
    for row in run(quick=True):
        print(row)
