"""The review page shows the domain suggestion with its reasons and takes the reviewer's
choice (issue 24); in Chromium at 390 px the choice is visible and usable."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from pusher.models import AuditLog, Group, Item, ItemMatch
from pusher.settings import Settings
from pusher.web.keys import RESOURCES
from tests.console.test_browser import ARGS, CHROMIUM, _login, _serve
from tests.console.test_console import ITEM, Console, _console, db_of, make_users
from tests.spine.conftest import start

UNDECLARED = {**ITEM, "domain": ""}


@pytest.fixture
async def console(sqlite_settings: Settings) -> AsyncIterator[Console]:
    async for console in _console(sqlite_settings):
        yield console


async def _submitted(console: Console, data: dict[str, str]) -> str:
    await console.login("publisher")
    resp = await console.post("/items/new", {**data, "then": "submit"}, allow_redirects=False)
    url = str(resp.headers["Location"])  # type: ignore[attr-defined]
    await console.login("reviewer")
    return url


async def test_the_page_shows_the_suggestion_and_its_words(console: Console) -> None:
    url = await _submitted(console, UNDECLARED)
    page = await (await console.client.get(url)).text()
    assert "自动归类建议：<b>养老服务</b>" in page
    assert "标题中的「高龄津贴」" in page  # the reason, with where it was found
    assert '<option value="养老服务" selected>养老服务（自动归类建议）</option>' in page
    assert '<option value="none">不归入任何领域</option>' in page


async def test_a_declared_domain_is_shown_as_declared(console: Console) -> None:
    url = await _submitted(console, ITEM)  # ITEM declares 养老服务
    page = await (await console.client.get(url)).text()
    assert "发布时选择：<b>养老服务</b>" in page and "自动归类建议" not in page
    assert '<option value="养老服务" selected>养老服务（发布时选择）</option>' in page


async def test_choosing_no_domain_is_audited_and_used(console: Console) -> None:
    url = await _submitted(console, UNDECLARED)
    form = {"step": "staff", "decision": "approve", "opinion": "同意", "domain": "none"}
    await console.post(f"{url}/review", form)
    page = await (await console.client.get(url)).text()
    assert "审核确认：<b>不归入任何领域</b>（reviewer）" in page
    assert '<option value="none" selected>' not in page  # the reviewer's form is gone
    await console.login("leader")
    page = await (await console.client.get(url)).text()
    assert '<option value="none" selected>不归入任何领域</option>' in page
    await console.post(url + "/review", {"step": "leader", "decision": "approve", "domain": "none"})
    await console.client.server.app[RESOURCES].queue.join()  # type: ignore[attr-defined]
    async with db_of(console)() as db:
        item = await db.scalar(select(Item))
        topics = await db.scalars(
            select(Group.name)
            .join(ItemMatch, ItemMatch.group_id == Group.id)
            .where(ItemMatch.item_id == item.id, Group.kind == "topic")
        )
        assert list(topics) == [] and item.domains == []
        audits = (await db.scalars(select(AuditLog).where(AuditLog.action == "item.domain"))).all()
    assert [(a.actor, a.detail["how"]) for a in audits] == [("reviewer", "none")]


async def test_an_unknown_domain_from_the_form_is_refused(console: Console) -> None:
    url = await _submitted(console, UNDECLARED)
    form = {"step": "staff", "decision": "approve", "opinion": "同意", "domain": "外星领域"}
    resp = await console.post(f"{url}/review", form)
    assert resp.status == 422  # type: ignore[attr-defined]
    assert "请从列表中选择" in await resp.text()  # type: ignore[attr-defined]
    async with db_of(console)() as db:
        assert (await db.scalar(select(Item.status))) == "submitted"


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium")
async def test_the_reviewer_changes_the_domain_at_390px(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    await start(sqlite_settings, residents=60)
    await make_users(sqlite_settings)
    runner, base = await _serve(sqlite_settings)
    try:
        async with playwright_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            await _login(page, base, "publisher")
            await page.goto(f"{base}/items/new")
            await page.fill("input[name=title]", ITEM["title"])
            await page.fill("textarea[name=body]", ITEM["body"])
            await page.fill("input[name=publisher]", ITEM["publisher"])
            await page.select_option("select[name=region_code]", ITEM["region_code"])
            await page.click("text=保存并提交审查")
            url = page.url
            await page.click("text=退出")
            await _login(page, base, "reviewer")
            await page.goto(url)
            suggested = page.locator("#domain-suggested")
            assert "养老服务" in await suggested.inner_text()
            box = await page.locator("#domain-review").bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
            choice = page.locator("#domain-choice")
            await choice.scroll_into_view_if_needed()
            box = await choice.bounding_box()
            assert box is not None and box["x"] + box["width"] <= 390 and box["height"] >= 30
            await page.screenshot(path=str(tmp_path / "domain_choice.png"))
            await choice.select_option("社会救助")
            await page.fill("textarea[name=opinion]", "不涉密，领域改为社会救助")
            await page.click("button[value=approve]")
            assert "社会救助" in await page.inner_text("#domain-reviewed")
            await page.locator("#domain-review").scroll_into_view_if_needed()
            await page.screenshot(path=str(tmp_path / "domain_reviewed.png"))
            width = await page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 390  # nothing pushes the page sideways
            await browser.close()
    finally:
        await runner.cleanup()
    keep = os.environ.get("PUSHER_CONSOLE_SHOTS")
    if keep:
        shutil.copytree(tmp_path, keep, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.db*"))
    assert (tmp_path / "domain_reviewed.png").stat().st_size > 10_000
