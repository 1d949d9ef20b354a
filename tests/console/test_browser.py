"""The console in a real browser (Debian's Chromium, headless): publish, review, watch it go."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from aiohttp import web

from pusher.settings import Settings
from pusher.web.app import create_app
from pusher.web.keys import RESOURCES
from tests.console.test_console import ITEM, PASSWORD, make_users, xlsx
from tests.spine.conftest import start

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)",
)


async def _serve(settings: Settings) -> tuple[web.AppRunner, str]:
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


async def test_publish_review_and_watch_progress_in_chromium(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    await start(sqlite_settings, residents=120)
    await make_users(sqlite_settings)
    runner, base = await _serve(sqlite_settings)
    shots = tmp_path / "shots"
    shots.mkdir()
    try:
        async with playwright_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            blocked: list[str] = []  # what the console's CSP refused, reported by Chromium
            page.on("console", lambda m: blocked.append(m.text) if "Policy" in m.text else 0)
            await page.goto(f"{base}/items")
            await page.screenshot(path=str(shots / "login.png"))
            await _login(page, base, "publisher")
            await page.goto(f"{base}/items/new")
            await page.click("text=保存并提交审查")  # empty form: errors next to fields
            assert await page.locator("#err-title").inner_text() == "请填写标题"
            await page.screenshot(path=str(shots / "form_errors.png"), full_page=True)
            await page.fill("input[name=title]", ITEM["title"])
            await page.fill("textarea[name=body]", ITEM["body"])
            await page.fill("input[name=publisher]", ITEM["publisher"])
            await page.select_option("select[name=region_code]", ITEM["region_code"])
            await page.select_option("select[name=domain]", ITEM["domain"])
            await page.click("text=保存并提交审查")
            item_url = page.url
            assert "待审查" in await page.inner_text("#item-status")
            await page.click("text=退出")
            await _login(page, base, "reviewer")
            await page.goto(item_url)
            await page.locator(".review-form").scroll_into_view_if_needed()
            await page.screenshot(path=str(shots / "review_form.png"))
            await page.fill("textarea[name=opinion]", "经审查不涉密，同意")
            await page.click("button[value=approve]")
            assert "待领导审批" in await page.inner_text("#item-status")
            await page.click("text=退出")
            await _login(page, base, "leader")  # the approval is another person's
            await page.goto(item_url)
            await page.fill("textarea[name=opinion]", "同意发布")
            await page.click("button[value=approve]")
            await runner.app[RESOURCES].queue.join()  # type: ignore[attr-defined]
            await page.wait_for_function(  # a function: the console's CSP forbids eval
                "() => document.getElementById('percent') && "
                "document.getElementById('percent').textContent === '100'",
                timeout=20_000,
            )
            counts = await page.inner_text("#counts")
            assert "已发出" in counts or "已送达" in counts
            await page.screenshot(path=str(shots / "item_phone.png"), full_page=True)
            await page.screenshot(path=str(shots / "item_top.png"))
            await page.locator("#progress").scroll_into_view_if_needed()
            await page.screenshot(path=str(shots / "item_progress.png"))
            await page.goto(f"{base}/")
            await page.screenshot(path=str(shots / "dashboard_top.png"))
            await page.goto(f"{base}/deliveries?channel=sms")
            await page.screenshot(path=str(shots / "deliveries_phone.png"))
            await page.click("text=退出")
            await _login(page, base, "grid_worker")
            await page.goto(f"{base}/residents/import")
            await page.set_input_files(
                "input[name=file]",
                files=[
                    {
                        "name": "名单.xlsx",
                        "mimeType": "application/octet-stream",
                        "buffer": xlsx([["张三", "1391234", "东山村第1网格", "", ""]]),
                    }
                ],
            )
            await page.click("text=上传并检查")
            await page.wait_for_selector("#report")
            assert "不是有效的大陆手机号" in await page.inner_text("#report")
            await page.screenshot(path=str(shots / "import_report.png"))
            await page.screenshot(path=str(shots / "dashboard_phone.png"), full_page=True)
            await browser.close()
            assert blocked == []
    finally:
        await runner.cleanup()
    keep = os.environ.get("PUSHER_CONSOLE_SHOTS")
    if keep:
        shutil.copytree(shots, keep, dirs_exist_ok=True)
    assert (shots / "item_phone.png").stat().st_size > 10_000


async def _login(page: object, base: str, username: str) -> None:
    await page.goto(f"{base}/login")  # type: ignore[attr-defined]
    await page.fill("input[name=username]", username)  # type: ignore[attr-defined]
    await page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    await page.click("button:has-text('登录')")  # type: ignore[attr-defined]
