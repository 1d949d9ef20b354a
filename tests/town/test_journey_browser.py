"""From an empty database to the first push in Chromium, without the demo (issue 19).

Setup page → import regions from an xlsx → an office topic and a group with a rule →
register a village group chat (and test it against the WeCom emulator) → users for the
two-person review and a grid worker for 东山村 → the grid worker imports the office's
roster (its own headers, a shared phone, an unknown column, a row for someone else's grid)
through the two-step import: report, then apply → publish → staff check → leader
approval → push → the delivery log shows the roster's residents, and the robot got it.
Phone width (390 px) throughout, the navigation bar within two rows; desktop screenshots
of the new pages at the end. Screenshots go to
``bench/results/screenshots/setup_journey`` (git-ignored): look at them.
"""

from __future__ import annotations

import asyncio
import io
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from openpyxl import Workbook
from sqlalchemy import select

from channels.emulators import wecom as wecom_emu
from channels.wecom import WeComSettings
from pusher.models import SandboxMessage
from pusher.ops.migrate import upgrade
from pusher.settings import Settings
from pusher.web.app import create_app
from pusher.web.keys import RESOURCES
from tests.console.test_browser import ARGS, CHROMIUM

SHOTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "screenshots" / "setup_journey"
PASSWORD = "journey-password-1"
TOWN, VILLAGE, GRID = "360123101000", "360123101001", "36012310100101"
ROBOT = str(uuid.uuid4())
pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium"),
    pytest.mark.timeout(600),
]


def regions_xlsx() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["统计用区划代码", "名称", "上级代码"])
    for code, name, parent in (
        (VILLAGE, "东山村", TOWN),
        ("360123101002", "西河村", TOWN),
        (GRID, "东山村第一网格", VILLAGE),
        ("36012310100201", "西河村第一网格", "360123101002"),
    ):
        sheet.append([code, name, parent])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


#: the office's roster: its own headers and an extra column, as the grid worker keeps it
ROSTER_HEADER = ["姓名", "手机号码", "所属网格", "标签", "订阅", "同意短信", "身份证后四位", "备注"]
ROSTER = [
    ["李大爷", "13912345678", "东山村第一网格", "老年人、独居", "村级财务", "是", "0412", "村东头"],
    ["李大娘", "13912345678", "东山村第一网格", "老年人", "", "是", "0815", "与李大爷同号"],
    ["赵小妹", "13987654321", GRID, "", "村级财务；社会救助", "是", "", ""],
    ["孙外村", "13711112222", "西河村第一网格", "", "", "是", "", "不归本网格员"],
]


def roster_xlsx() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(ROSTER_HEADER)
    for row in ROSTER:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _start(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


class Journey:
    def __init__(self, page: Any, base: str) -> None:
        self.page, self.base, self.n = page, base, 0

    async def shot(self, name: str, *, full: bool = True) -> None:
        self.n += 1
        await self.page.screenshot(path=str(SHOTS / f"{self.n:02d}_{name}.png"), full_page=full)

    async def go(self, path: str) -> None:
        await self.page.goto(f"{self.base}{path}")

    async def login(self, username: str) -> None:
        await self.page.context.clear_cookies()
        await self.go("/login")
        await self.page.fill("input[name=username]", username)
        await self.page.fill("input[name=password]", PASSWORD)
        await self.page.click("button:has-text('登录')")

    async def ok(self) -> str:
        return str(await self.page.inner_text("p.ok"))

    async def nav_rows(self) -> int:
        """How many rows the navigation bar's links take."""
        tops = await self.page.eval_on_selector_all(
            "nav.nav a", "links => links.map(a => Math.round(a.getBoundingClientRect().top))"
        )
        return len(set(tops))


async def _setup(j: Journey) -> None:
    p = j.page
    await j.go("/")
    assert p.url.endswith("/setup")
    await j.shot("setup")
    for name, value in {
        "username": "admin1", "display_name": "王主任", "password": PASSWORD,
        "password2": PASSWORD, "town_name": "青山镇", "town_code": TOWN,
        "county_name": "示范县", "county_code": "360123000000",
    }.items():  # fmt: skip
        await p.fill(f"input[name={name}]", value)
    await p.click("text=创建管理员并继续")
    assert "管理员已创建" in await p.inner_text("main")
    await p.set_input_files("input[name=file]", files=[
        {"name": "区划.xlsx", "mimeType": "application/octet-stream", "buffer": regions_xlsx()}
    ])  # fmt: skip
    await p.click("button:has-text('导入')")
    assert "新建 4 个" in await j.ok()
    await j.shot("regions_imported")


async def _structure(j: Journey) -> None:
    p = j.page
    await j.go("/topics")
    await p.fill("#content-topic-name, form[action='/topics'] input[name=name]", "村级财务")
    await p.fill("form[action='/topics'] input[name=keywords]", "村务公开、财务公开")
    await p.click("form[action='/topics'] button")
    assert "村级财务" in await j.ok()
    await j.shot("topic_added")
    await j.go("/groups")
    await p.fill("#group-new input[name=name]", "东山村财务公开")
    await p.select_option("#group-new select[name=kind]", "region")
    await p.select_option("#group-new select[name=region_code]", VILLAGE)
    await p.fill("#group-new textarea[name=rules]", "财务公开 | 村务公开")
    await p.click("#group-new button")
    assert "已新建" in await j.ok()
    assert "财务公开 | 村务公开" in await p.inner_text("main")
    await j.shot("group_preview")
    await j.go("/chats")
    await p.fill("#chat-new input[name=name]", "东山村村民群")
    await p.select_option("#chat-new select[name=region_code]", VILLAGE)
    await p.fill(
        "#chat-new input[name=robot_key]",
        f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={ROBOT}",
    )
    await p.click("#chat-new button")
    assert "已登记" in await j.ok()
    assert ROBOT not in await p.inner_text("#chats")  # masked after entry
    await p.click("#chats button:has-text('发测试消息')")
    assert "测试消息已发出" in await j.ok()
    await j.shot("chat_tested")


async def _people(j: Journey) -> None:
    p = j.page
    assert await j.nav_rows() <= 2, "the admin's navigation bar takes more than two rows"
    await j.go("/settings")
    await j.shot("settings")
    staff = (("clerk", "publisher"), ("checker", "reviewer"), ("boss", "leader"))
    for username, role in (*staff, ("grid1", "grid_worker")):
        await j.go("/users")
        form = "form[action='/users']"
        await p.fill(f"{form} input[name=username]", username)
        await p.select_option(f"{form} select[name=role]", role)
        await p.fill(f"{form} input[name=password]", PASSWORD)
        if role == "grid_worker":
            village = await p.eval_on_selector(
                f"{form} select[name=regions]",
                "s => [...s.options].find(o => o.textContent.trim() === '东山村').value",
            )
            await p.select_option(f"{form} select[name=regions]", village)
        await p.click(f"{form} button:has-text('创建')")


async def _roster(j: Journey) -> None:
    """The grid worker imports the office's roster: a report first, then the good rows."""
    p = j.page
    await j.login("grid1")
    assert await j.nav_rows() <= 2, "the grid worker's navigation bar takes more than two rows"
    await j.go("/residents/import")
    await p.set_input_files("input[name=file]", files=[
        {"name": "东山村第一网格花名册.xlsx", "mimeType": "application/octet-stream",
         "buffer": roster_xlsx()}
    ])  # fmt: skip
    await p.click("#import-form button")
    await p.wait_for_selector("#report")
    report = await p.inner_text("#report")
    assert "新增 3，修改 0，不变 0，有误 1" in report, report
    assert "以下列不认识，已忽略：备注" in report
    assert "不是你负责的网格" in report  # 西河村 is not grid1's
    await j.shot("roster_report")
    assert await p.locator("main").count() == 1
    assert await p.evaluate("document.documentElement.scrollWidth") <= 390
    await p.click("#apply-form button[value=good]")
    assert "3" in await p.inner_text("#done")
    await j.shot("roster_applied")
    await j.go("/residents")
    listed = await p.inner_text("main")
    assert all(name in listed for name in ("李大爷", "李大娘", "赵小妹")), listed[:500]
    assert "孙外村" not in listed
    await j.shot("residents")


async def _publish(j: Journey) -> str:
    p = j.page
    await j.login("clerk")
    await j.go("/items/new")
    await p.fill("input[name=title]", "东山村2026年第三季度财务公开")
    await p.fill(
        "textarea[name=body]", "东山村2026年第三季度村级财务收支情况公开如下，请村民监督。"
    )
    await p.fill("input[name=publisher]", "青山镇人民政府")
    await p.select_option("select[name=region_code]", TOWN)
    await p.click("text=保存并提交审查")
    item_url = str(p.url)
    for who, opinion in (("checker", "经审查不涉密，同意"), ("boss", "同意发布")):
        await j.login(who)
        await p.goto(item_url)
        await p.fill("textarea[name=opinion]", opinion)
        await p.click("button[value=approve]")
    return item_url


async def test_a_township_goes_from_an_empty_database_to_its_first_push(
    sqlite_settings: Settings,
) -> None:
    playwright_api = pytest.importorskip("playwright.async_api")
    SHOTS.mkdir(parents=True, exist_ok=True)
    robots = wecom_emu.build_app(per_minute=100)
    robot_runner, robot_base = await _start(robots)
    settings = sqlite_settings.model_copy(
        update={"wecom_enabled": True, "wecom": WeComSettings(base_url=robot_base, msgtype="text")}
    )
    await asyncio.to_thread(upgrade, settings.database_url.get_secret_value())
    runner, base = await _start(create_app(settings))
    inbox = robots[wecom_emu.WECOM_EMULATOR].inbox
    try:
        async with playwright_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            blocked: list[str] = []
            page.on("console", lambda m: blocked.append(m.text) if "Policy" in m.text else 0)
            j = Journey(page, base)
            await _setup(j)
            await _structure(j)
            assert inbox.total() == 1  # the test message reached the robot
            await _people(j)
            await _roster(j)
            item_url = await _publish(j)
            await runner.app[RESOURCES].queue.join()  # type: ignore[attr-defined]
            async with runner.app[RESOURCES].db() as session:
                texts = (
                    await session.scalars(
                        select(SandboxMessage.text).where(SandboxMessage.recipient == "13912345678")
                    )
                ).all()
            assert len(texts) == 1, texts  # 李大爷 and 李大娘 share one number: one SMS
            await page.goto(item_url)
            await j.shot("item_pushed")
            await j.go("/deliveries")
            log = await page.inner_text("table.records")
            for name in ("李大爷", "李大娘", "赵小妹"):  # the roster's residents, reached
                assert name in log, log[:800]
            assert "孙外村" not in log
            await j.shot("delivery_log")
            await j.login("admin1")
            desktop = await browser.new_page(viewport={"width": 1280, "height": 900})
            await desktop.context.add_cookies(await page.context.cookies())
            jd = Journey(desktop, base)
            jd.n = 50
            for path in (
                "/settings", "/regions", "/topics", "/groups", "/chats", "/residents/import",
                "/deliveries",
            ):  # fmt: skip
                await jd.go(path)
                await jd.shot("desktop" + path.replace("/", "_"))
            await browser.close()
            assert blocked == []
    finally:
        await runner.cleanup()
        await robot_runner.cleanup()
    assert inbox.total() == 2  # and the push's message to the village chat
