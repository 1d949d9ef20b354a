"""Every SMS carries the link to the full notice: measured over the 337 sample notices."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pusher.summary import Notice, render_sms, sms_segments, summarize

if TYPE_CHECKING:
    import jieba

SAMPLE = Path("/work/shared/data/notices_sample.jsonl")
SIGNATURE = "某某镇人民政府"
# the summary bench's link (longer than a real /s/ short link) and a real short link
LINKS = ["https://gk.example.gov.cn/item/20240301", "https://gk.example.gov.cn/s/2bx"]


@pytest.mark.skipif(not SAMPLE.is_file(), reason="the shared sample is not on this machine")
@pytest.mark.parametrize("link", LINKS)
def test_every_one_segment_sms_of_the_sample_carries_the_link(
    link: str, tokenizer: jieba.Tokenizer
) -> None:
    texts = []
    with SAMPLE.open(encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            notice = Notice(title=r["title"], body=r["body"], publisher=r.get("issuer") or "")
            summary = summarize(notice, tokenizer=tokenizer)
            texts.append(
                render_sms(
                    summary, signature=SIGNATURE, link=link, max_segments=1, tokenizer=tokenizer
                )
            )
    assert len(texts) == 337
    assert [t for t in texts if not t.endswith(link)] == []
    assert all(sms_segments(t) == 1 for t in texts)
    # the title is never left out to make room: something precedes the link
    assert all(len(t.removesuffix(link)) > len(f"【{SIGNATURE}】详见 ") for t in texts)
