"""Whole journeys through the console in Chromium, with a screenshot of every page visited.

(a) a publisher submits, a reviewer approves in two steps, the push runs and its
deliveries show on the deliveries page (phone and desktop); (b) a grid worker imports an
Excel file with bad rows, reads the report, fixes it and sees only their grid's residents;
(c) a grid worker is refused another grid's resident and the refusal is in the audit log.
Screenshots go to ``bench/results/screenshots/`` (ignored by git).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select

from pusher.models import AuditLog, Region, Resident
from pusher.settings import Settings
from pusher.web.app import create_app
from pusher.web.keys import RESOURCES
from tests.console.test_console import ITEM, PASSWORD, make_users, xlsx
from tests.spine.conftest import start

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--lang=zh-CN"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)",
)


@dataclass
class Tour:
    """A browser page on the running console that photographs every page it visits."""

    page: Any
    base: str
    app: web.Application
    name: str
    grids: list[int]
    shots: int = 0

    async def shot(self, label: str) -> None:
        """The first screen as the user sees it; the whole page too when it is long."""
        self.shots += 1
        stem = SHOTS / f"{self.name}_{self.shots:02d}_{label}"
        await self.page.screenshot(path=f"{stem}.png")
        height = await self.page.evaluate("document.documentElement.scrollHeight")
        if height > self.page.viewport_size["height"] * 1.2:
            await self.page.screenshot(path=f"{stem}_full.png", full_page=True)

    async def visit(self, path: str, label: str) -> None:
        await self.page.goto(f"{self.base}{path}")
        await self.shot(label)

    async def login(self, username: str) -> None:
        await self.page.goto(f"{self.base}/login")
        await self.page.fill("input[name=username]", username)
        await self.page.fill("input[name=password]", PASSWORD)
        await self.go("button:has-text('登录')")

    async def logout(self) -> None:
        await self.page.goto(f"{self.base}/")  # error pages have no menu
        await self.go("text=退出")

    async def go(self, selector: str) -> None:
        """Click something that loads a new page, and wait until it has loaded."""
        async with self.page.expect_navigation():
            await self.page.click(selector)

    async def settle(self) -> None:
        await self.app[RESOURCES].queue.join()  # type: ignore[attr-defined]


@pytest.fixture
async def console(
    sqlite_settings: Settings,
) -> AsyncIterator[tuple[web.Application, str, list[int]]]:
    await start(sqlite_settings, residents=120)
    grids = await make_users(sqlite_settings)
    app = create_app(sqlite_settings)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield app, f"http://127.0.0.1:{runner.addresses[0][1]}", grids
    finally:
        await runner.cleanup()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    playwright_api = pytest.importorskip("playwright.async_api")
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with playwright_api.async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        await chromium.close()


async def tour(browser: Any, console: Any, name: str, viewport: dict[str, int]) -> Tour:
    app, base, grids = console
    for old in SHOTS.glob(f"{name}_*.png"):
        old.unlink()
    context = await browser.new_context(viewport=viewport, locale="zh-CN")
    return Tour(await context.new_page(), base, app, name, grids)


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
async def test_publish_review_push_and_see_deliveries(
    browser: Any, console: Any, viewport: str
) -> None:
    t = await tour(browser, console, f"a_{viewport}", PHONE if viewport == "phone" else DESKTOP)
    await t.visit("/items", "login")
    await t.login("publisher")
    await t.shot("home")
    await t.visit("/items", "items")
    await t.visit("/items/new", "item_form")
    await t.page.fill("input[name=title]", ITEM["title"])
    await t.page.fill("textarea[name=body]", ITEM["body"])
    await t.page.fill("input[name=publisher]", ITEM["publisher"])
    await t.page.select_option("select[name=region_code]", ITEM["region_code"])
    await t.page.select_option("select[name=domain]", ITEM["domain"])
    await t.go("text=保存并提交审查")
    assert "待审查" in await t.page.inner_text("#item-status")
    await t.shot("item_submitted")
    item_url = t.page.url
    await t.logout()
    await t.login("reviewer")
    await t.shot("reviewer_home")
    await t.page.goto(item_url)
    await t.page.fill("textarea[name=opinion]", "经审查不涉密，同意")
    await t.shot("staff_review")
    await t.go("button[value=approve]")
    assert "待领导审批" in await t.page.inner_text("#item-status")
    await t.logout()
    await t.login("leader")  # the approval is another person's
    await t.page.goto(item_url)
    await t.page.fill("textarea[name=opinion]", "同意发布")
    await t.shot("leader_review")
    await t.go("button[value=approve]")
    await t.settle()
    await t.page.wait_for_function(  # a function: the console's CSP forbids eval
        "() => document.getElementById('percent')?.textContent === '100'", timeout=20_000
    )
    await t.page.wait_for_selector("text=查看每条推送记录")  # the page reloads when done
    await t.page.wait_for_load_state("load")
    await t.shot("item_pushed")
    processed = int(await t.page.inner_text("#total"))
    await t.go("text=查看每条推送记录")
    await t.shot("deliveries")
    assert re.search(r"push=\d+", t.page.url)
    rows = t.page.locator("table.records tbody tr")
    assert await rows.count() == processed > 5
    assert f"共 {processed} 条" in await t.page.inner_text("main")
    statuses = await t.page.locator("table.records tbody td:nth-child(8)").all_inner_texts()
    assert set(statuses) <= {"已送达", "已发出", "无法联系"} and "已送达" in statuses
    await t.visit("/deliveries?channel=sms", "deliveries_sms")
    assert "没有符合条件的记录" not in await t.page.inner_text("table tbody")


BAD_ROWS: list[list[object]] = [
    ["张三", 13912345678, "东山村第1网格", "", "老年人"],
    ["李四", "1391234567", "东山村第1网格", "", ""],
    ["王五", "13912345678", "东山村第1网格", "", ""],
    ["赵六", "13700000001", "西河村第1网格", "", ""],
]
GOOD_ROWS: list[list[object]] = [
    ["张三", 13912345678, "东山村第1网格", "", "老年人"],
    ["李四", "13912345670", "东山村第1网格", "", ""],
]


async def _upload(t: Tour, rows: list[list[object]], label: str) -> str:
    await t.page.set_input_files(
        "input[name=file]",
        files=[{"name": "名单.xlsx", "mimeType": "application/octet-stream", "buffer": xlsx(rows)}],
    )
    # The page posts the file by XHR and writes the answer in place: wait for a new report.
    await t.page.evaluate("document.getElementById('report')?.remove()")
    await t.page.click("text=上传并检查")
    await t.page.wait_for_selector("#report")
    await t.shot(label)
    return str(await t.page.inner_text("#report"))


async def test_grid_worker_imports_fixes_and_sees_own_grid(browser: Any, console: Any) -> None:
    t = await tour(browser, console, "b_phone", PHONE)
    await t.login("grid_worker")
    await t.shot("home")
    await t.visit("/residents/import", "import")
    report = await _upload(t, BAD_ROWS, "import_report")
    assert "有误 2" in report  # 王五 shares 张三's number: a family may (家庭共用号码)
    for row, why in ((3, "不是有效的大陆手机号"), (5, "不是你负责的网格")):
        assert re.search(rf"第 {row} 行\s+\S+\s+有误\s+.*{why}", report), (row, report)
    await t.page.click("text=都不导入")
    await t.page.wait_for_selector("#done")
    report = await _upload(t, GOOD_ROWS, "import_check")
    assert "新增 2" in report
    await t.page.click("#apply-form button[value=good]")
    await t.page.wait_for_selector("#done")
    await t.shot("import_ok")
    assert "已写入 2 人" in await t.page.inner_text("#done")
    await t.visit("/residents", "residents")
    grids = await t.page.locator("table tbody tr td:nth-child(3)").all_inner_texts()
    assert grids and set(grids) == {"东山村第1网格"}
    await t.visit("/residents?q=1391234567", "residents_search")
    names = await t.page.locator("table tbody tr td:nth-child(1)").all_inner_texts()
    assert sorted(names) == ["张三", "李四"]


async def test_grid_worker_is_refused_another_grids_resident(browser: Any, console: Any) -> None:
    t = await tour(browser, console, "c_phone", PHONE)
    async with t.app[RESOURCES].db() as db:
        other = await db.scalar(
            select(Resident.id)
            .join(Region, Region.id == Resident.region_id)
            .where(Region.name == "西河村第1网格")
        )
    await t.login("grid_worker")
    await t.visit("/residents", "residents")
    response = await t.page.goto(f"{t.base}/residents/{other}")
    await t.shot("refused")
    assert response is not None and response.status == 403
    text = await t.page.inner_text("main")
    assert "无权查看" in text and "已记入操作日志" in text
    async with t.app[RESOURCES].db() as db:
        row = await db.scalar(select(AuditLog).where(AuditLog.action == "access.denied"))
    assert row is not None and (row.actor, row.target) == ("grid_worker", f"resident:{other}")
    await t.go("text=换个账号登录")  # the error page has no menu; this is its way out
    assert t.page.url.endswith("/login")
    await t.login("admin")
    await t.visit("/audit", "audit")
    assert f"resident:{other}" in await t.page.inner_text("main")
