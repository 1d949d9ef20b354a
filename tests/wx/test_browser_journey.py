"""A resident's journey in Chromium at 390 px: scan the village poster (a follow with the
grid's scene in the WeChat emulator), bind by phone and SMS code on /wx/, choose a topic,
receive a push, write back; the grid worker sees it in the console. Screenshots go to
bench/results/screenshots (git-ignored) to be looked at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from channels.base import ChannelKind
from pusher.models import Region, ResidentMessage, User, UserRegion
from pusher.pipeline.dispatch import dispatch
from pusher.runtime.jobs import process_item
from pusher.settings import Settings
from tests.console.test_browser import ARGS, CHROMIUM, _login
from tests.spine.flow import publish
from tests.wx.rig import WxRig, code_in, running

SHOTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "screenshots"
OPENID = "oJourneyWangDaye000001"
PHONE = "13700000201"
PARENT_PHONE = "13700000202"  # his mother, no smartphone: he receives for her (代收)
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")


async def _grid(rig: WxRig) -> tuple[str, str]:
    """The grid worker's grid (code) and its village (code)."""
    async with rig.resources.db() as db:
        worker = await db.scalar(select(User.id).where(User.username == "grid_worker"))
        grid = await db.scalar(select(Region).join(UserRegion).where(UserRegion.user_id == worker))
        assert grid is not None
        village = await db.get_one(Region, grid.parent_id)
    return grid.code, village.code


async def _shot(page: Any, name: str) -> None:
    await page.screenshot(path=str(SHOTS / f"wx_{name}.png"), full_page=True)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{name}: the page is {width}px wide at a 390px viewport"


async def test_poster_to_push_and_back_in_chromium(sqlite_settings: Settings) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with running(sqlite_settings, residents=20) as rig:
        grid, village = await _grid(rig)
        await rig.add_resident("王大爷", PHONE, grid)
        await rig.add_resident("王奶奶", PARENT_PHONE, grid)
        welcome = await rig.event(OPENID, "subscribe", scene=f"r{grid}")  # scans the poster
        assert "/wx/bind" in welcome["body"]
        async with playwright_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            phone = await browser.new_page(viewport={"width": 390, "height": 844})

            await phone.goto(f"{rig.base}/wx/bind")
            await phone.click(f"text={OPENID}")  # the emulator's OAuth page: who is this phone
            await _shot(phone, "1_bind")
            await phone.fill("input[name=name]", "王大爷")
            await phone.fill("input[name=phone]", PHONE)
            await phone.click("#get-code")
            assert "验证码已发送" in await phone.inner_text("body")
            await phone.fill("input[name=code]", code_in(rig.sms_texts(PHONE)))
            await phone.click("#confirm")
            assert "绑定成功" in await phone.inner_text("body")
            await _shot(phone, "2_bound")
            await phone.goto(f"{rig.base}/wx/bind")  # and his mother, by the code sent to her
            await phone.fill("input[name=name]", "王奶奶")
            await phone.fill("input[name=phone]", PARENT_PHONE)
            await phone.check("input[name=proxy]")
            await phone.click("#get-code")
            assert "验证码已发送" in await phone.inner_text("body")
            await phone.fill("input[name=code]", code_in(rig.sms_texts(PARENT_PHONE)))
            await phone.click("#confirm")
            assert "绑定成功" in await phone.inner_text("body")
            await _shot(phone, "2b_parent_bound")
            await phone.goto(f"{rig.base}/wx/")
            await phone.locator("button.off").first.click()  # subscribe to the first topic
            assert "已保存" in await phone.inner_text("body")
            await _shot(phone, "3_topics")
            title = "村道维修通知"
            item_id = await publish(rig.resources, region_code=village, title=title,
                                    body="本周六村道维修，请绕行。")  # fmt: skip
            push_id = await process_item(rig.ctx, item_id)
            assert push_id is not None
            await dispatch(rig.resources.dispatcher(), push_id, ChannelKind.WECHAT)
            assert any(title in t for t in rig.wechat_texts(OPENID))  # arrived on WeChat
            assert sum("代王奶奶收" in t for t in rig.wechat_texts(OPENID)) == 1  # hers, marked
            await phone.goto(f"{rig.base}/wx/notices")
            assert title in await phone.inner_text("body")
            await _shot(phone, "4_notices")
            await phone.goto(f"{rig.base}/wx/contact")
            await phone.fill("textarea[name=text]", "村道修好后能通知我吗？")
            await phone.click("button:has-text('发送')")
            await _shot(phone, "5_sent")
            desk = await browser.new_page(viewport={"width": 390, "height": 844})
            await _login(desk, rig.base, "grid_worker")
            await desk.goto(f"{rig.base}/messages")
            assert "村道修好后能通知我吗？" in await desk.inner_text("body")
            await _shot(desk, "6_grid_worker")
            answer = "修好当天会在公众号通知您。"
            await desk.fill("textarea[name=answer]", answer)
            await desk.click("button:has-text('回复')")
            assert answer in await desk.inner_text("body")  # shown as answered
            await _shot(desk, "7_answered")
            assert any(answer in t for t in rig.wechat_texts(OPENID))  # arrived on WeChat
            await browser.close()
        async with rig.resources.db() as db:
            message = await db.scalar(select(ResidentMessage))
        assert message is not None and message.resident_id is not None
