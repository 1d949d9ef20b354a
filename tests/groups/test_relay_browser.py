"""The relay journey in Chromium at 390 px: the office registers an ordinary WeChat group
with its keeper on 群聊 → an urgent warning is approved → the keeper got the text on
their phone (the sandbox inbox) and finds it on top of 转发清单, in red → copies the
text (the group's short link in it) → taps 已转发 → the office's delivery log shows the
group as relayed by that keeper. Screenshots go to
``bench/results/screenshots/relay_journey`` (git-ignored)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select

from pusher.console.accounts import set_user
from pusher.db import transaction
from pusher.models import Delivery, GroupChat, Region, Role, SandboxMessage, Urgency
from pusher.runtime.resources import open_resources
from pusher.settings import Settings
from pusher.summary.relay import base36
from pusher.web.app import create_app
from pusher.web.keys import RESOURCES
from tests.console.test_browser import ARGS, CHROMIUM
from tests.console.test_console import PASSWORD, make_users
from tests.spine.conftest import start
from tests.spine.flow import publish

SHOTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "screenshots" / "relay_journey"
KEEPER_PHONE = "13900000007"
pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium"),
    pytest.mark.timeout(600),
]


async def _login(page: Any, base: str, username: str) -> None:
    await page.context.clear_cookies()
    await page.goto(f"{base}/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button:has-text('登录')")


async def test_an_urgent_warning_is_relayed_to_a_wechat_group_in_one_tap(
    sqlite_settings: Settings,
) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    SHOTS.mkdir(parents=True, exist_ok=True)
    settings = sqlite_settings
    town, _ = await start(settings, residents=60)
    grids = await make_users(settings)
    async with open_resources(settings) as r, transaction(r.db) as session:
        grid = await session.scalar(select(Region.code).where(Region.id == grids[0]))
        await set_user(
            session, username="grid_worker", role=Role.GRID_WORKER, password=PASSWORD,
            region_codes=[grid or ""], phone=KEEPER_PHONE, notify=True,
        )  # fmt: skip
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    resources = app[RESOURCES]
    try:
        async with playwright_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            context = await browser.new_context(viewport={"width": 390, "height": 844})
            await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
            page = await context.new_page()
            blocked: list[str] = []
            page.on("console", lambda m: blocked.append(m.text) if "Policy" in m.text else 0)

            await _login(page, base, "publisher")  # the office registers the group
            await page.goto(f"{base}/chats")
            form = page.locator("#chat-new")
            await form.locator("input[name=name]").fill("东山村第一网格微信群")
            await form.locator("select[name=region_code]").select_option(grid or "")
            await form.locator("select[name=kind]").select_option("relay")
            await form.locator("input[name=keeper]").fill("grid_worker")
            await form.locator("button").click()
            assert "转发清单" in await page.inner_text("p.ok")
            await page.screenshot(path=str(SHOTS / "01_chats.png"), full_page=True)
            async with resources.db() as session:
                chat = await session.scalar(
                    select(GroupChat.id).where(GroupChat.name == "东山村第一网格微信群")
                )
            assert chat is not None

            item = await publish(
                resources, region_code=town.town_code, title="青山镇山洪紧急预警",
                body="上游水库泄洪，沿河群众请立即转移到安全地带，相互转告。",
                urgency=Urgency.URGENT,
            )  # fmt: skip
            await resources.queue.join()
            async with resources.db() as session:
                phone = list(
                    await session.scalars(
                        select(SandboxMessage.text).where(SandboxMessage.recipient == KEEPER_PHONE)
                    )
                )
            link = f"/s/{base36(item)}?g={base36(chat)}"
            assert len(phone) == 1 and link in phone[0], phone  # on the keeper's phone

            await _login(page, base, "grid_worker")
            await page.click("nav.nav a:has-text('转发清单')")
            card = page.locator(".relay").first
            assert "青山镇山洪紧急预警" in await card.inner_text()
            red = await card.locator("h2").evaluate("h => getComputedStyle(h).color")
            assert red == "rgb(198, 40, 40)", red
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, width  # no sideways scrolling on the phone
            await card.locator("button[data-copy]").click()
            copy_done = card.locator("button[data-copy]", has_text="已复制")
            await copy_done.wait_for(timeout=5000)  # the page's script copied it
            copied = await page.evaluate("navigator.clipboard.readText()")
            assert link in copied and "**" not in copied, copied
            await page.screenshot(path=str(SHOTS / "02_relay_list.png"), full_page=True)
            await card.locator("button:has-text('已转发')").click()
            assert "已转发" in await page.inner_text("p.ok")
            assert "grid_worker" in await page.locator(".relay").first.inner_text()
            await page.screenshot(path=str(SHOTS / "03_relayed.png"), full_page=True)

            await _login(page, base, "reviewer")  # the office's delivery log
            await page.goto(f"{base}/deliveries?channel=relay")
            log = await page.inner_text("table.records")
            assert "人工转发\t已转发" in log, log[:600]  # the kind and its state in words
            await page.screenshot(path=str(SHOTS / "04_office_log.png"), full_page=True)
            await browser.close()
            assert blocked == []
        async with resources.db() as session:
            row = await session.scalar(select(Delivery).where(Delivery.group_chat_id == chat))
        assert row is not None and (row.status, row.provider_id) == ("sent", "grid_worker")
    finally:
        await runner.cleanup()
        await asyncio.sleep(0)
