"""Customer groups in Chromium at 390 px: an urgent warning is approved and planned, the
mass-message tasks are made in the WeCom emulator; one owner confirms there and the
office's item page shows both of that owner's groups 已发送; the other owner does not,
is reminded once at remind_at, and their group is listed on the follow-up page of the
grid worker who keeps it (and of the office), and the delivery log shows it waiting.

Screenshots go to ``bench/results/screenshots/customer_groups`` (git-ignored).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy import select

from channels.emulators.wecom import build_app
from channels.emulators.wecom_groupmsg_state import GroupMsgEmulator
from channels.wecom_groupmsg import WeComAppSettings
from pusher.models import GroupTask, SandboxMessage, Urgency, utcnow
from pusher.runtime.group_jobs import run_group_tasks
from pusher.settings import Settings
from pusher.web.app import create_app
from pusher.web.keys import RESOURCES
from tests.console.test_browser import ARGS, CHROMIUM
from tests.console.test_console import PASSWORD, make_users
from tests.customer_groups.rig import CORP, KEEPER_PHONE, OWNERS, SECRET, add_customer_groups
from tests.spine.conftest import start
from tests.spine.flow import publish

SHOTS = Path(__file__).resolve().parents[2] / "bench/results/screenshots/customer_groups"
pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium"),
    pytest.mark.timeout(600),
]


async def _start(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


class Phone:
    def __init__(self, page: Any, base: str) -> None:
        self.page, self.base, self.n = page, base, 0

    async def login(self, username: str) -> None:
        await self.page.context.clear_cookies()
        await self.page.goto(f"{self.base}/login")
        await self.page.fill("input[name=username]", username)
        await self.page.fill("input[name=password]", PASSWORD)
        await self.page.click("button:has-text('登录')")

    async def open(self, path: str, shot: str) -> str:
        await self.page.goto(f"{self.base}{path}")
        self.n += 1
        await self.page.screenshot(path=str(SHOTS / f"{self.n:02d}_{shot}.png"), full_page=True)
        width = await self.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide at 390"
        return str(await self.page.inner_text("main"))

    async def group_state(self, chat_id: int) -> str:
        row = self.page.locator(f"tr.group-row[data-chat='{chat_id}'] td.state")
        return str(await row.inner_text())


async def test_an_owner_confirms_and_the_other_is_reminded_then_followed_up(
    sqlite_settings: Settings,
) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    SHOTS.mkdir(parents=True, exist_ok=True)
    emulator = GroupMsgEmulator(corp_id=CORP, corp_secret=SECRET, owners=OWNERS)
    emu_runner, emu_base = await _start(build_app(groupmsg=emulator))
    settings = sqlite_settings.model_copy(
        update={
            "wecom_app": WeComAppSettings(
                corp_id=CORP, corp_secret=SecretStr(SECRET), base_url=f"{emu_base}/"
            )
        }
    )
    town, _ = await start(settings, residents=40)
    await make_users(settings)
    runner, base = await _start(create_app(settings))
    r = runner.app[RESOURCES]
    try:
        chats = await add_customer_groups(r, town.village_codes)
        item_id = await publish(
            r, region_code=town.town_code, title="森林火险红色预警",
            body="今明两天森林火险等级极高，严禁一切野外用火。", urgency=Urgency.URGENT,
        )
        await asyncio.wait_for(r.queue.join(), 60)  # type: ignore[attr-defined]
        async with r.db() as session:
            tasks = {t.owner_userid: t for t in await session.scalars(select(GroupTask))}
        assert {o: t.status for o, t in tasks.items()} == {"zhang": "waiting", "li": "waiting"}
        assert len(emulator.tasks) == 2

        # zhang confirms in WeCom; the minute's poll reads it back
        async with r.http.post(
            f"{emu_base}/emulator/groupmsg/confirm",
            json={"msgid": tasks["zhang"].msgid, "sender": "zhang"},
        ) as resp:
            assert resp.status == 200
        await run_group_tasks(r)

        async with playwright_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            phone = Phone(page, base)
            await phone.login("publisher")
            text = await phone.open(f"/items/{item_id}", "item_groups_after_confirm")
            assert "群聊" in text
            for chat in ("wrZ1", "wrZ2"):
                assert await phone.group_state(chats[chat]) == "已发送"
            assert await phone.group_state(chats["wrL1"]) == "待群主确认"

            # li never confirms: reminded once at remind_at (urgent: 10 minutes)
            later = utcnow() + timedelta(minutes=11)
            await run_group_tasks(r, now=later)
            await run_group_tasks(r, now=later + timedelta(minutes=1))
            assert len(emulator.tasks[str(tasks["li"].msgid)].reminders) == 1
            async with r.db() as session:
                told = list(
                    await session.scalars(
                        select(SandboxMessage.text).where(
                            SandboxMessage.recipient == KEEPER_PHONE
                        )
                    )
                )
            assert len(told) == 1 and "群主（li）" in told[0]

            await phone.login("grid_worker")  # keeps 南岭村客户群
            text = await phone.open("/followup", "followup_keeper")
            assert "南岭村客户群" in text and "群主未确认（已提醒）" in text
            assert "东山村客户群" not in text
            await phone.login("admin")
            text = await phone.open("/followup", "followup_office")
            assert "南岭村客户群" in text
            text = await phone.open(
                "/deliveries?kind=group&channel=wecom_group", "delivery_log_groups"
            )
            assert "南岭村客户群" in text and "待群主确认" in text and "已发送" in text
            await phone.login("publisher")
            await phone.open(f"/items/{item_id}", "item_groups_after_reminder")
            assert await phone.group_state(chats["wrL1"]) == "待群主确认"
            await browser.close()
    finally:
        await runner.cleanup()
        await emu_runner.cleanup()
