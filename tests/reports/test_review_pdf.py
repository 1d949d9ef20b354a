"""The review form as a PDF: it parses back, is one A4 page and carries the item's title,
department, opinions and both reviewers' names as text (expectations from the generated
month of tests/reports/month.py, item B: staff check by ``reviewer``, approval by
``leader``); without a CJK font the answer is a 503 with a Chinese sentence."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from pusher.reports.review_pdf import CANDIDATES, NoFont, find_font
from pusher.settings import Settings
from pusher.web.keys import RESOURCES
from tests.reports.test_console_reports import Client, client  # noqa: F401 (fixture)

A4 = (595.28, 841.89)  # points
HAS_FONT = any(path.is_file() for path in CANDIDATES)


@pytest.mark.skipif(not HAS_FONT, reason="no CJK font on this machine (fonts-wqy-microhei)")
async def test_review_form_pdf_is_one_a4_page_with_the_form_as_text(client: Client) -> None:  # noqa: F811
    item = client.ids["B"]  # type: ignore[attr-defined]
    resp = await client.get(f"/items/{item}/review-form.pdf")
    assert resp.status == 200 and resp.content_type == "application/pdf"
    assert "attachment" in resp.headers["Content-Disposition"]
    reader = PdfReader(io.BytesIO(await resp.read()))
    assert len(reader.pages) == 1
    page = reader.pages[0]
    size = (float(page.mediabox.width), float(page.mediabox.height))
    assert size == pytest.approx(A4, abs=0.5)
    text = page.extract_text()
    for expected in ("信息发布保密审查表", "B：测试通知", "青山镇民政办", "同意。同意发布",
                     "审查人：reviewer", "签字：leader", "公众号"):  # fmt: skip
        assert expected in text, expected


async def test_no_font_is_a_503_with_a_chinese_sentence(client: Client, tmp_path: Path) -> None:  # noqa: F811
    settings = client.server.app[RESOURCES].settings  # type: ignore[union-attr]
    settings.pdf_font = tmp_path / "missing.ttc"
    resp = await client.get(f"/items/{client.ids['B']}/review-form.pdf")  # type: ignore[attr-defined]
    assert resp.status == 503
    assert "中文字体" in await resp.text()


def test_find_font_prefers_the_setting_then_the_machine(tmp_path: Path) -> None:
    mine, machine = tmp_path / "mine.ttf", tmp_path / "machine.ttc"
    machine.write_bytes(b"x")
    assert find_font(None, candidates=[tmp_path / "absent.ttc", machine]) == machine
    with pytest.raises(NoFont):
        find_font(mine, candidates=[machine])  # configured but missing: no silent fallback
    mine.write_bytes(b"x")
    assert find_font(mine, candidates=[machine]) == mine
    with pytest.raises(NoFont):
        find_font(None, candidates=[tmp_path / "absent.ttc"])


def test_an_empty_font_setting_means_find_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUSHER_PDF_FONT", "")
    assert Settings(_env_file=None).pdf_font is None  # type: ignore[call-arg]
    monkeypatch.setenv("PUSHER_PDF_FONT", "/srv/fonts/simsun.ttc")
    assert Settings(_env_file=None).pdf_font == Path("/srv/fonts/simsun.ttc")  # type: ignore[call-arg]
