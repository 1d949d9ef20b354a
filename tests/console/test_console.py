"""The console through HTTP: login, CSRF, roles, scoping, items and review, logs, import."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer
from openpyxl import Workbook, load_workbook
from pydantic import SecretStr
from sqlalchemy import delete, func, select, update

from pusher.console.accounts import set_user
from pusher.console.passwords import hash_password
from pusher.db import transaction
from pusher.models import (
    AuditLog,
    Delivery,
    DeliveryStatus,
    Item,
    Push,
    Region,
    Resident,
    Role,
    Subscription,
    User,
)
from pusher.settings import QuietHours, Settings
from pusher.web.app import create_app
from pusher.web.keys import RESOURCES
from tests.spine.conftest import start

PASSWORD = "correct-horse-1"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Console:
    client: TestClient
    grid_ids: list[int]

    async def csrf(self, path: str = "/login") -> str:
        page = await (await self.client.get(path)).text()
        match = CSRF.search(page)
        assert match, page[:500]
        return match.group(1)

    async def login(self, username: str, password: str = PASSWORD) -> int:
        token = await self.csrf()
        data = {"username": username, "password": password, "csrf": token}
        resp = await self.client.post("/login", data=data, allow_redirects=False)
        return resp.status

    async def post(self, path: str, data: dict[str, object], **kw: object) -> object:
        token = await self.csrf("/")
        return await self.client.post(path, data={**data, "csrf": token}, **kw)


async def make_users(settings: Settings) -> list[int]:
    """Passwords for the town's users, an admin, and grid_worker assigned to grid 1."""
    from pusher.runtime.resources import open_resources

    async with open_resources(settings) as r, transaction(r.db) as db:
        for user in (await db.scalars(select(User))).all():
            user.password_hash = hash_password(PASSWORD)
        await set_user(db, username="admin", role=Role.ADMIN, password=PASSWORD)
        grids = (
            await db.scalars(select(Region.code).where(Region.kind == "grid").order_by(Region.path))
        ).all()
        await set_user(
            db,
            username="grid_worker",
            role=Role.GRID_WORKER,
            password=PASSWORD,
            region_codes=[grids[0]],
        )
        ids = (
            await db.scalars(select(Region.id).where(Region.kind == "grid").order_by(Region.path))
        ).all()
    return list(ids)


async def _console(settings: Settings) -> AsyncIterator[Console]:
    await start(settings, residents=60)
    grids = await make_users(settings)
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    try:
        yield Console(client, grids)
    finally:
        await client.close()


@pytest.fixture
async def console(sqlite_settings: Settings) -> AsyncIterator[Console]:
    async for console in _console(sqlite_settings):
        yield console


def db_of(console: Console):  # type: ignore[no-untyped-def]
    return console.client.server.app[RESOURCES].db


async def audit_actions(console: Console) -> list[str]:
    async with db_of(console)() as db:
        return list((await db.scalars(select(AuditLog.action).order_by(AuditLog.id))).all())


async def test_login_logout_and_wrong_password(console: Console) -> None:
    resp = await console.client.get("/items", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"].startswith("/login")
    assert await console.login("publisher", "wrong-password") == 401
    assert await console.login("publisher") == 302
    page = await (await console.client.get("/items")).text()
    assert "信息发布" in page and "退出" in page
    resp = await console.post("/logout", {}, allow_redirects=False)
    assert resp.status == 302  # type: ignore[attr-defined]
    resp = await console.client.get("/items", allow_redirects=False)
    assert resp.status == 302
    assert "login.failed" in await audit_actions(console)


async def test_throttling_locks_after_five_failures(console: Console) -> None:
    for _ in range(5):
        assert await console.login("reviewer", "nope-nope") == 401
    assert await console.login("reviewer") == 429  # even the right password now
    token = await console.csrf()
    resp = await console.client.post(
        "/login", data={"username": "reviewer", "password": PASSWORD, "csrf": token}
    )
    assert "临时锁定" in await resp.text()


async def test_post_without_csrf_token_is_refused(console: Console) -> None:
    await console.csrf()
    resp = await console.client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert resp.status == 403
    assert await console.login("publisher") == 302
    resp = await console.client.post("/items/new", data={"title": "x"})
    assert resp.status == 403 and "安全令牌" in await resp.text()


async def test_roles_and_masked_phones(console: Console) -> None:
    await console.login("grid_worker")
    resp = await console.client.get("/items")
    assert resp.status == 403 and "角色" in await resp.text()
    resp = await console.client.get("/users")
    assert resp.status == 403
    assert (await audit_actions(console)).count("access.denied") == 2
    page = await (await console.client.get("/residents")).text()
    assert re.search(r"<td>1380000\d{4}</td>", page)  # own residents: whole number


async def test_grid_worker_cannot_open_another_grids_resident(console: Console) -> None:
    async with db_of(console)() as db:
        other = await db.scalar(select(Resident).where(Resident.region_id == console.grid_ids[1]))
        own = await db.scalar(select(Resident).where(Resident.region_id == console.grid_ids[0]))
    assert other is not None and own is not None
    await console.login("grid_worker")
    assert (await console.client.get(f"/residents/{own.id}")).status == 200
    resp = await console.client.get(f"/residents/{other.id}")
    assert resp.status == 403 and "无权" in await resp.text()
    async with db_of(console)() as db:
        row = await db.scalar(select(AuditLog).where(AuditLog.action == "access.denied"))
    assert row is not None and row.actor == "grid_worker" and row.target == f"resident:{other.id}"


async def test_item_form_shows_field_errors_in_chinese(console: Console) -> None:
    await console.login("publisher")
    resp = await console.post(
        "/items/new",
        {
            "title": "",
            "body": "正文",
            "publisher": "青山镇",
            "region_code": "",
            "source_url": "ftp:/x",
            "formed_at": "2026-13-40",
        },
    )
    page = await resp.text()  # type: ignore[attr-defined]
    assert resp.status == 422  # type: ignore[attr-defined]
    assert 'id="err-title">请填写标题' in page
    assert 'id="err-region_code">请填写涉及地区' in page
    assert "链接格式不正确" in page and "日期格式应为" in page
    async with db_of(console)() as db:
        assert await db.scalar(select(func.count()).select_from(Item)) == 0


ITEM = {
    "title": "关于发放2026年高龄津贴的通知",
    "body": "凡年满80周岁的老年人，请于本月底前到村委会领取高龄津贴。",
    "publisher": "青山镇人民政府",
    "region_code": "360123101",
    "domain": "养老服务",
    "disclosure": "主动公开",
    "urgency": "normal",
    "formed_at": "2026-05-01",
}


async def test_two_step_review_leads_to_a_push(console: Console) -> None:
    await console.login("publisher")
    resp = await console.post("/items/new", {**ITEM, "then": "submit"}, allow_redirects=False)
    item_url = resp.headers["Location"]  # type: ignore[attr-defined]
    await console.client.post("/logout", data={"csrf": await console.csrf("/")})
    await console.login("reviewer")
    resp = await console.post(f"{item_url}/review", {"step": "staff", "decision": "reject"})
    assert "退回时必须填写意见" in await resp.text()  # type: ignore[attr-defined]
    await console.post(
        f"{item_url}/review", {"step": "staff", "decision": "approve", "opinion": "不涉密，同意"}
    )
    page = await (await console.client.get(item_url)).text()
    assert "待领导审批" in page and "领导审批意见" not in page  # not the checker's to approve
    await console.login("leader")  # the approval is another person's
    page = await (await console.client.get(item_url)).text()
    assert "待领导审批" in page and "领导审批意见" in page
    # before approval the leader sees what would go out, to whom, at what SMS cost
    assert "推送预览（审核前估算）" in page and "【政务公开】" in page
    assert "推送预览" not in page.split("</title>")[0]  # the page title stays the item's
    assert "短信每人 <b>1</b> 条" in page
    await console.post(
        f"{item_url}/review",
        {"step": "leader", "decision": "approve", "opinion": "同意发布", "publish_form": "短信"},
    )
    await console.client.server.app[RESOURCES].queue.join()  # type: ignore[attr-defined]
    page = await (await console.client.get(item_url)).text()
    assert "匹配「标签：老年人」：标题中出现「高龄津贴」" in page
    assert "推送进度" in page and "【政务公开】" in page
    progress = await (await console.client.get(f"{item_url}/progress.json")).json()
    assert progress["total"] > 0 and progress["done"] == progress["total"]
    assert progress["percent"] == 100
    assert {"item.review.staff", "item.review.leader"} <= set(await audit_actions(console))


async def _pushed(console: Console) -> int:
    await console.login("publisher")
    await console.post("/items/new", {**ITEM, "urgency": "urgent", "then": "submit"})
    await console.login("leader")  # the one-step urgent path is a leader's
    async with db_of(console)() as db:
        item_id = await db.scalar(select(Item.id))
    await console.post(
        f"/items/{item_id}/review", {"step": "urgent", "decision": "approve", "opinion": "紧急"}
    )
    await console.client.server.app[RESOURCES].queue.join()  # type: ignore[attr-defined]
    await console.login("reviewer")  # the callers go on as the office's reviewer
    async with transaction(db_of(console)) as db:
        rows = (
            await db.scalars(
                select(Delivery)
                .where(Delivery.resident_id.is_not(None), Delivery.channel.in_(("wechat", "sms")))
                .order_by(Delivery.id)
            )
        ).all()
        for d in rows[:10]:
            d.status, d.error_code = DeliveryStatus.FAILED, "isv.MOBILE_NUMBER_ILLEGAL"
        return len(rows)


async def test_deliveries_export_masks_and_retry(console: Console) -> None:
    total = await _pushed(console)
    resp = await console.client.get("/deliveries/export.csv?channel=sms")
    rows = list(csv.reader(io.StringIO((await resp.read()).decode("utf-8-sig"))))
    assert rows[0][0] == "编号" and len(rows) > 1
    assert all(re.fullmatch(r"138\*{4}\d{4}", r[3]) for r in rows[1:])  # reviewer: masked
    resp = await console.client.get("/deliveries/export.xlsx")
    sheet = load_workbook(io.BytesIO(await resp.read())).active
    async with db_of(console)() as db:
        everything = await db.scalar(select(func.count()).select_from(Delivery))
    assert sheet is not None and sheet.max_row == (everything or 0) + 1 > total
    await console.post("/deliveries/retry?status=failed", {})
    await console.client.server.app[RESOURCES].queue.join()  # type: ignore[attr-defined]
    async with db_of(console)() as db:
        failed = await db.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.status == DeliveryStatus.FAILED)
        )
    assert failed == 0
    actions = await audit_actions(console)
    assert actions.count("deliveries.export") == 2 and "deliveries.retry" in actions


async def test_followup_confirm_by_grid_worker(console: Console) -> None:
    await _pushed(console)
    async with transaction(db_of(console)) as db:
        mine = await db.scalar(
            select(Delivery).where(
                Delivery.region_id == console.grid_ids[0], Delivery.resident_id.is_not(None)
            )
        )
        theirs = await db.scalar(
            select(Delivery).where(
                Delivery.region_id == console.grid_ids[1], Delivery.resident_id.is_not(None)
            )
        )
        assert mine is not None and theirs is not None
        mine.status = theirs.status = DeliveryStatus.UNREACHABLE
    await console.login("grid_worker")
    page = await (await console.client.get("/followup")).text()
    assert f"/followup/{mine.id}/confirm" in page and f"/followup/{theirs.id}/" not in page
    resp = await console.post(f"/followup/{theirs.id}/confirm", {})
    assert resp.status == 403  # type: ignore[attr-defined]
    await console.post(f"/followup/{mine.id}/confirm", {})
    async with db_of(console)() as db:
        assert (await db.get(Delivery, mine.id)).status == DeliveryStatus.CONFIRMED  # type: ignore[union-attr]
        assert (await db.get(Delivery, theirs.id)).status == DeliveryStatus.UNREACHABLE  # type: ignore[union-attr]
    assert "followup.confirm" in await audit_actions(console)


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["姓名", "手机号", "所属网格", "微信", "标签"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _upload(console: Console, data: bytes) -> tuple[int, str]:
    from aiohttp import FormData

    form = FormData()
    form.add_field("csrf", await console.csrf("/residents/import"))
    form.add_field("file", data, filename="名单.xlsx")
    resp = await console.client.post("/residents/import", data=form)
    return resp.status, await resp.text()


async def count_residents(console: Console) -> int:
    async with db_of(console)() as db:
        return int(await db.scalar(select(func.count()).select_from(Resident)) or 0)


async def test_excel_import_good_and_bad_files(console: Console) -> None:
    await console.login("grid_worker")
    before = await count_residents(console)
    bad = xlsx(
        [
            ["张三", 13912345678, "东山村第1网格", "", "老年人"],
            ["李四", "1391234567", "东山村第1网格", "", ""],
            ["王五", "13912345678", "东山村第1网格", "", ""],
            ["赵六", "13700000001", "西河村第1网格", "", ""],
            ["钱七", "13700000002", "不存在网格", "", ""],
            ["孙八", "13800000001", "东山村第1网格", "", ""],
        ]
    )
    status, page = await _upload(console, bad)
    assert status == 422 and "文件未导入" in page
    for row, why in (
        (3, "不是有效的大陆手机号"),
        (4, "与第 2 行重复"),
        (5, "不是你负责的网格"),
        (6, "找不到网格"),
        (7, "已登记过"),
    ):
        assert re.search(rf"第 {row} 行</td><td>[^<]*</td><td>[^<]*{why}", page), why
    assert await count_residents(console) == before
    good = xlsx(
        [
            ["张三", 13912345678, "东山村第1网格", "", "老年人、低保户"],
            ["李四", "13912345679", "360123101001" + "01", "", ""],
        ]
    )
    status, page = await _upload(console, good)
    assert status == 200 and "已导入 2 人" in page, page
    assert await count_residents(console) == before + 2
    resp = await console.client.get("/residents/export.xlsx")
    sheet = load_workbook(io.BytesIO(await resp.read())).active
    assert sheet is not None
    phones = {row[1] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert {"13912345678", "13912345679"} <= phones


async def test_rule_validation_endpoint_and_sample_test(console: Console) -> None:
    await console.login("publisher")
    ok = await (await console.client.get("/rules/validate", params={"text": "低保 | 救助"})).json()
    assert ok == {"ok": True, "message": "", "position": None}
    bad = await (await console.client.get("/rules/validate", params={"text": "低保 | "})).json()
    assert bad["ok"] is False and bad["position"] == 4
    assert bad["message"] == "第 5 个字处：「|」后面缺少关键词"
    async with db_of(console)() as db:
        from pusher.models import Group

        group = await db.scalar(select(Group).where(Group.name == "标签：低保户"))
    assert group is not None
    resp = await console.post(
        f"/rules/{group.id}/test",
        {
            "expressions": "低保 | 临时救助",
            "title": "关于调整农村最低生活保障标准的通知",
            "body": "",
        },
    )
    page = await resp.text()  # type: ignore[attr-defined]
    assert "匹配「标签：低保户」：标题中出现「最低生活保障」" in page
    resp = await console.post(f"/rules/{group.id}", {"rule_new": "养老 |"})
    assert resp.status == 422  # type: ignore[attr-defined]
    await console.post(f"/rules/{group.id}", {"rule_new": "特困 & !招聘"})
    assert "rules.change" in await audit_actions(console)


async def test_admin_creates_a_grid_worker_who_can_sign_in(console: Console) -> None:
    await console.login("admin")
    await console.post(
        "/users",
        {
            "username": "gw2",
            "display_name": "网格员小刘",
            "role": "grid_worker",
            "password": "a-long-pass",
            "regions": str(console.grid_ids[1]),
        },
    )
    page = await (await console.client.get("/users")).text()
    assert "网格员小刘" in page
    await console.client.post("/logout", data={"csrf": await console.csrf("/")})
    assert await console.login("gw2", "a-long-pass") == 302
    page = await (await console.client.get("/residents")).text()
    assert "东山村第2网格" in page and "东山村第1网格" not in page


async def test_sandbox_inbox_dashboard_and_audit_pages(console: Console) -> None:
    await _pushed(console)
    page = await (await console.client.get("/sandbox")).text()
    links = re.findall(r'href="\?box=(\d+)">[^<]*138\*{4}\d{4}', page)
    assert links and not re.search(r"1380000\d{4}", page)  # reviewer sees masked numbers
    inbox = await (await console.client.get(f"/sandbox?box={links[0]}")).text()
    assert 'class="phone"' in inbox and "【政务公开】" in inbox
    board = await (await console.client.get("/")).text()
    assert "今天的推送" in board and "东山村" in board and "%" in board
    await console.login("admin")
    log = await (await console.client.get("/audit")).text()
    assert "紧急审批" in log and "登录" in log


async def test_grid_worker_adds_and_edits_a_resident(console: Console) -> None:
    await console.login("grid_worker")
    grid = str(console.grid_ids[0])
    resp = await console.post(
        "/residents/new", {"name": "周大爷", "phone": "12345", "region_id": grid}
    )
    assert resp.status == 422 and "11 位大陆手机号" in await resp.text()  # type: ignore[attr-defined]
    resp = await console.post(
        "/residents/new",
        {"name": "周大爷", "phone": "13698765432", "region_id": str(console.grid_ids[1])},
    )
    assert resp.status == 422 and "请选择你负责的网格" in await resp.text()  # type: ignore[attr-defined]
    await console.post(
        "/residents/new",
        {
            "name": "周大爷",
            "phone": "13698765432",
            "region_id": grid,
            "sms_consent": "on",
            "tags": "老年人、残疾人",
            "topics": "养老服务",
        },
    )
    async with db_of(console)() as db:
        resident = await db.scalar(select(Resident).where(Resident.phone == "13698765432"))
    assert resident is not None and resident.sms_consent
    page = await (await console.client.get(f"/residents/{resident.id}")).text()
    assert 'value="养老服务" checked' in page and "残疾人、老年人" in page
    await console.post(
        f"/residents/{resident.id}",
        {"name": "周大爷", "phone": "13698765432", "region_id": grid, "sms_opt_out": "on"},
    )
    page = await (await console.client.get(f"/residents/{resident.id}")).text()
    assert 'name="sms_opt_out" checked' in page
    assert 'value="养老服务" checked' not in page  # unticked: opted out of the topic
    async with db_of(console)() as db:
        opted = await db.scalar(
            select(Subscription.opted_out).where(Subscription.resident_id == resident.id)
        )
    assert opted is True


@pytest.fixture
async def pg_console(pg_url: str, jieba_cache: Path) -> AsyncIterator[Console]:
    """The same console on PostgreSQL (jobs still run in process)."""
    settings = Settings(
        database_url=SecretStr(pg_url),
        redis_url=None,
        secret_key=SecretStr("console-on-postgresql-" + "k" * 32),
        callback_secret=SecretStr("console-on-postgresql-" + "c" * 32),
        jieba_cache_dir=jieba_cache,
        _env_file=None,  # type: ignore[call-arg]
    )
    async for console in _console(settings):
        yield console


async def test_console_on_postgresql(pg_console: Console) -> None:
    total = await _pushed(pg_console)
    assert total > 0
    for path in ("/", "/deliveries?status=failed", "/sandbox", "/rules", "/items"):
        assert (await pg_console.client.get(path)).status == 200, path
    await pg_console.post("/deliveries/retry?status=failed", {})
    await pg_console.login("grid_worker")
    status, page = await _upload(
        pg_console, xlsx([["张三", "13912345678", "东山村第1网格", "", "老年人"]])
    )
    assert status == 200 and "已导入 1 人" in page
    assert (await pg_console.client.get("/followup")).status == 200


async def test_progress_of_a_push_still_planning_is_not_complete(console: Console) -> None:
    """A push whose first chunk is not written yet reads 0 of 0: a start, not 100 %."""
    await _pushed(console)
    async with transaction(db_of(console)) as db:
        item_id = await db.scalar(select(Item.id))
        await db.execute(delete(Delivery))  # as it was before planning wrote a row
        await db.execute(update(Push).values(status="planning", planned=0))
    progress = await (await console.client.get(f"/items/{item_id}/progress.json")).json()
    assert (progress["total"], progress["percent"], progress["settled"]) == (0, 0, False)
    async with transaction(db_of(console)) as db:
        await db.execute(update(Push).values(status="done"))
    progress = await (await console.client.get(f"/items/{item_id}/progress.json")).json()
    assert (progress["percent"], progress["settled"]) == (100, True)


@pytest.fixture
async def night_console(sqlite_settings: Settings) -> AsyncIterator[Console]:
    """A console whose quiet hours have just begun, whatever the hour the test runs."""
    hour = datetime.now(ZoneInfo("Asia/Shanghai")).hour
    quiet = QuietHours(start=hour, end=(hour + 2) % 24)
    async for console in _console(sqlite_settings.model_copy(update={"quiet_hours": quiet})):
        yield console


async def _published_through_review(console: Console) -> str:
    """A normal item submitted, approved in both steps and processed; its page URL."""
    await console.login("publisher")
    resp = await console.post("/items/new", {**ITEM, "then": "submit"}, allow_redirects=False)
    item_url = str(resp.headers["Location"])  # type: ignore[attr-defined]
    for step, who, opinion in (("staff", "reviewer", "不涉密"), ("leader", "leader", "同意发布")):
        await console.login(who)
        await console.post(
            f"{item_url}/review", {"step": step, "decision": "approve", "opinion": opinion}
        )
    await console.client.server.app[RESOURCES].queue.join()  # type: ignore[attr-defined]
    return item_url


async def test_the_item_page_says_why_a_normal_item_waits_in_quiet_hours(
    night_console: Console,
) -> None:
    console = night_console
    end = (datetime.now(ZoneInfo("Asia/Shanghai")).hour + 2) % 24
    item_url = await _published_through_review(console)
    progress = await (await console.client.get(f"{item_url}/progress.json")).json()
    page = await (await console.client.get(item_url)).text()
    queued = progress["counts"]["排队中"]
    assert queued > 0 and not progress["settled"]
    assert progress["held"].startswith("免打扰时段")
    assert f"{queued} 条将于" in progress["held"] and f"{end:02d}:00 发送" in progress["held"]
    assert progress["held"] in page
    log = await (await console.client.get(f"/deliveries?push={progress['push_id']}")).text()
    assert re.search(rf"排队中，\d{{4}}-\d\d-\d\d {end:02d}:00 发送", log)  # says when
    front = await (await console.client.get("/")).text()
    assert f"另有 {queued} 条待发送" in front  # waiting, not missed: apart from the rate
    rates = re.findall(r"送达率 (\d+)%", front)
    assert rates and all(rate == "0" for rate in rates)  # only the unreachable have an outcome
    await console.login("publisher")
    resp = await console.post(
        "/items/new", {**ITEM, "urgency": "urgent", "then": "submit"}, allow_redirects=False
    )
    urgent_url = resp.headers["Location"]  # type: ignore[attr-defined]
    await console.login("leader")
    await console.post(
        f"{urgent_url}/review", {"step": "urgent", "decision": "approve", "opinion": "紧急"}
    )
    await console.client.server.app[RESOURCES].queue.join()  # type: ignore[attr-defined]
    urgent = await (await console.client.get(f"{urgent_url}/progress.json")).json()
    assert urgent["total"] > 0 and urgent["settled"]  # it went at once
    assert urgent["held"] == "" and "排队中" not in urgent["counts"]
    front = await (await console.client.get("/")).text()
    assert f"另有 {queued} 条待发送" in front and any(
        rate != "0" for rate in re.findall(r"送达率 (\d+)%", front)
    )


async def _held_row(console: Console, resident_id: int) -> Delivery:
    async with db_of(console)() as db:
        row = await db.scalar(select(Delivery).where(Delivery.resident_id == resident_id))
    assert row is not None
    return row


async def test_messages_held_overnight_follow_a_residents_new_number_and_opt_out(
    night_console: Console,
) -> None:
    """Planned at night, sent at eight: an address corrected in between is the one used."""
    console = night_console
    grid = str(console.grid_ids[0])
    person = {"name": "周大爷", "region_id": grid, "sms_consent": "on", "tags": "老年人"}
    await console.login("grid_worker")
    await console.post("/residents/new", person | {"phone": "13698765432"})
    async with db_of(console)() as db:
        resident_id = await db.scalar(select(Resident.id).where(Resident.name == "周大爷"))
    assert resident_id is not None
    await _published_through_review(console)
    held = await _held_row(console, resident_id)
    assert (held.channel, held.recipient, held.status) == ("sms", "13698765432", "queued")
    await console.login("grid_worker")
    await console.post(f"/residents/{resident_id}", person | {"phone": "13611112222"})
    moved = await _held_row(console, resident_id)
    await console.post(
        f"/residents/{resident_id}", person | {"phone": "13611112222", "sms_opt_out": "on"}
    )
    cancelled = await _held_row(console, resident_id)
    assert (moved.channel, moved.recipient, moved.status) == ("sms", "13611112222", "queued")
    assert moved.next_attempt_at == held.next_attempt_at  # still waits for the morning
    assert (cancelled.status, cancelled.error_code) == ("failed", "opted_out")


async def test_retrying_failures_spares_residents_who_opted_out_and_uses_new_numbers(
    console: Console,
) -> None:
    await _pushed(console)  # ten resident rows failed
    async with transaction(db_of(console)) as db:
        failed = (
            await db.scalars(
                select(Delivery)
                .where(Delivery.status == DeliveryStatus.FAILED, Delivery.channel == "sms")
                .order_by(Delivery.id)
            )
        ).all()
        assert len(failed) >= 2
        quitter = await db.get_one(Resident, failed[0].resident_id)
        quitter.sms_opt_out = True  # replied TD after the failure
        mover = await db.get_one(Resident, failed[1].resident_id)
        mover.phone = "13955556666"  # the grid worker corrected the number
        ids = (failed[0].id, failed[1].id)
    resp = await console.post("/deliveries/retry?status=failed", {})
    page = await resp.text()  # type: ignore[attr-defined]
    await console.client.server.app[RESOURCES].queue.join()  # type: ignore[attr-defined]
    async with db_of(console)() as db:
        spared, moved = [await db.get_one(Delivery, i) for i in ids]
    assert "另有 1 条未重发" in page
    assert spared.status == DeliveryStatus.FAILED  # not sent again to who said TD
    assert moved.recipient == "13955556666" and moved.status != DeliveryStatus.FAILED
