"""The print pages in Chromium at A4: the review form fits one page, the monthly
submission prints on A4 pages, and the browser's CSP lets their charts and styles through."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pusher.settings import Settings
from tests.console.test_browser import ARGS, CHROMIUM, _login, _serve
from tests.console.test_console import make_users
from tests.reports.month import build_month

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)",
)
#: A4 in PDF points (1/72 inch): 210 × 297 mm
A4 = (595, 842)


def _pages(pdf: bytes) -> list[tuple[float, float]]:
    """Each page's size from its /MediaBox (Chromium writes page objects uncompressed)."""
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    return [(float(w), float(h)) for w, h in boxes]


async def test_review_form_and_monthly_report_print_on_a4(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    ids = await build_month(sqlite_settings)
    await make_users(sqlite_settings)
    runner, base = await _serve(sqlite_settings)
    blocked: list[str] = []
    try:
        async with playwright_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = await browser.new_page()
            page.on("console", lambda m: blocked.append(m.text) if "Policy" in m.text else 0)
            await _login(page, base, "admin")
            await page.goto(f"{base}/items/{ids['B']}/review-form")
            assert await page.inner_text("#f-department") == "青山镇民政办"
            form = await page.pdf(prefer_css_page_size=True, print_background=True)
            await page.goto(f"{base}/reports/monthly/print?month=2026-11")
            assert await page.locator("svg.chart rect.reached").count() == 2  # two villages
            report = await page.pdf(prefer_css_page_size=True)
            await browser.close()
    finally:
        await runner.cleanup()
    (tmp_path / "form.pdf").write_bytes(form)
    sizes = _pages(form)
    assert len(sizes) == 1, sizes  # the form is one sheet of paper
    assert all(round(w) == A4[0] and round(h) == A4[1] for w, h in sizes), sizes
    pages = _pages(report)
    assert 1 <= len(pages) <= 6 and all((round(w), round(h)) == A4 for w, h in pages), pages
    assert not blocked, blocked
