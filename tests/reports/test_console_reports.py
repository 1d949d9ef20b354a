"""The report pages, workbooks, review form, due list and date filters through the console,
on the generated November of tests/reports/month.py (expectations from its lists)."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import date

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient, TestServer
from openpyxl import load_workbook
from sqlalchemy import select

from pusher.db import transaction
from pusher.models import Item, Region, Review, Source
from pusher.runtime.resources import open_resources
from pusher.settings import Settings
from pusher.web.app import create_app
from tests.console.test_console import make_users
from tests.console.world import csrf, login
from tests.reports.month import DELIVERIES, bj, build_month
from tests.reports.test_monthly import NAMES, _expected

Client = TestClient[object, object]
#: the due list's "today" (the clock is the one thing mocked): Wednesday 2 December 2026
TODAY = date(2026, 12, 2)


@pytest.fixture
async def client(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Client]:
    ids = await build_month(sqlite_settings)
    await make_users(sqlite_settings)
    await _later_items(sqlite_settings)
    monkeypatch.setattr("pusher.console.due.today_local", lambda: TODAY)
    monkeypatch.setattr("pusher.console.item_page.today_local", lambda: TODAY)
    client: Client = TestClient(TestServer(create_app(sqlite_settings)))
    await client.start_server()
    client.ids = ids  # type: ignore[attr-defined]
    try:
        await login(client, "admin")
        yield client
    finally:
        await client.close()


async def _later_items(settings: Settings) -> None:
    """Drafts for the due list: one due in 3 working days, one past the calendar's years;
    and S, submitted for review by the publisher."""
    async with open_resources(settings) as r, transaction(r.db) as db:
        town = (await db.scalars(Region.__table__.select().where(Region.code == "360123"))).one()
        for title, formed, limit in (("F：三日内到期", "2026-11-27", 5),
                                     ("G：跨年信息", "2026-12-20", 20)):  # fmt: skip
            db.add(Item(title=title, body="正文", publisher="青山镇人民政府", region_id=town,
                        formed_at=bj(formed + " 00:00"), time_limit_days=limit))  # fmt: skip
        source = Source(name="县政务公开", kind="rss", url="http://127.0.0.1:9/feed.xml",
                        region_id=town)  # fmt: skip
        db.add(source)
        await db.flush()
        db.add(Item(title="K：县里已公开", body="正文", publisher="示范县民政局", region_id=town,
                    formed_at=bj("2026-10-01 00:00"), source_id=source.id))  # fmt: skip
        item = Item(title="S：待审查", body="正文", publisher="青山镇人民政府", region_id=town,
                    status="submitted", formed_at=bj("2026-11-25 00:00"))  # fmt: skip
        db.add(item)
        await db.flush()
        db.add(Review(item_id=item.id or 0, step="submit", decision="submit", reviewer="publisher"))


def _book(body: bytes) -> dict[str, list[list[object]]]:
    book = load_workbook(io.BytesIO(body), read_only=True)
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in book}


async def test_monthly_workbook_reads_back(client: Client) -> None:
    resp = await client.get("/reports/monthly.xlsx?month=2026-11")
    assert resp.status == 200
    sheets = _book(await resp.read())
    assert list(sheets)[:3] == ["按领域发布", "按发布主体", "推送及到达"]
    village = sheets["按村到达"]
    assert village[2] == ["村(社区)", "消息数", "已送达", "已发出未回执", "失败", "无法联系",
                          "已当面告知", "等待发送"]  # fmt: skip
    expected = _expected(lambda grid, _: NAMES[grid[:9]])
    assert {row[0]: row[1:] for row in village[3:]} == expected
    clock = {row[1]: row[-1] for row in sheets["公开时限"][3:] if isinstance(row[0], int)}
    assert clock == {"A：测试通知": "按时", "B：测试通知": "超期", "C：测试通知": "按时"}


async def test_monthly_page_draws_the_village_bars(client: Client) -> None:
    resp = await client.get("/reports/monthly?month=2026-11")
    page = await resp.text()
    assert resp.status == 200 and "2026年11月" in page
    assert "<script" not in page.split("</main>")[0]  # charts are markup, not scripts
    # reached/messages per village from the delivery lists: bars scaled to the largest
    bar = r'class="reached" x="\d+" y="\d+" width="([\d.]+)"'
    widths = [float(w) for w in re.findall(bar, page)]
    east, west = (_expected(lambda grid, _: NAMES[grid[:9]])[v] for v in ("东村", "西村"))
    top = max(east[0], west[0])
    reached = [row[1] + row[2] + row[5] for row in (east, west)]
    assert widths[:2] == [round(360 * n / top, 1) for n in reached]
    printed = await client.get("/reports/monthly/print?month=2026-11")
    assert printed.status == 200 and "政务信息推送工作月报" in await printed.text()


async def test_register_workbook_and_review_form(client: Client) -> None:
    resp = await client.get("/reports/register.xlsx?from=2026-11-01&to=2026-11-30")
    assert resp.status == 200
    rows = _book(await resp.read())["信息发布保密审查登记"]
    by_title = {row[2]: row for row in rows[3:]}
    # reviewed in November: A, B (leader), C (urgent, no staff step), E (staff check only),
    # H (disclosed on request: reviewed all the same)
    assert sorted(by_title) == [f"{k}：测试通知" for k in "ABCEH"]
    a = by_title["A：测试通知"]
    assert a[1:5] == ["青山镇人民政府", "A：测试通知", "公众号、短信", "同意。不涉密"]
    assert a[5:11] == ["reviewer", "2026-11-03", "同意。同意发布", "leader", "2026-11-03",
                       "publisher"]  # fmt: skip
    assert by_title["E：测试通知"][7] is None  # no leader's opinion yet (an empty cell)
    item = client.ids["B"]  # type: ignore[attr-defined]
    form = await (await client.get(f"/items/{item}/review-form")).text()
    assert '<td id="f-department">青山镇民政办</td>' in form
    assert "同意。同意发布" in form and "@media print" not in form  # CSS is a file
    assert '<link rel="stylesheet" href="/static/print.css">' in form


@pytest.mark.parametrize(
    "path",
    ["/reports/monthly?month=2026-13", "/reports/monthly?from=2026-11-31",
     "/reports/monthly?from=2026-11-10&to=2026-11-01", "/reports/yearly?year=abc",
     "/reports/register.xlsx?from=2020-01-01&to=2026-01-01", "/deliveries?from=昨天"],
)  # fmt: skip
async def test_bad_dates_get_a_chinese_sentence(client: Client, path: str) -> None:
    resp = await client.get(path)
    assert resp.status == 422, (path, resp.status)
    assert re.search(r"(日期|月份|年份|范围)[^<]*[。]", await resp.text())


async def test_due_list_and_dashboard_block(client: Client) -> None:
    page = await (await client.get("/due")).text()
    # E: formed Mon 2 Nov, 20 working days → Mon 30 Nov; on Wed 2 Dec: 2 working days over.
    # F: formed Fri 27 Nov, 5 working days → Fri 4 Dec: 2 left. G: formed in December,
    # due in a year the calendar does not know.
    assert re.search(r"E：测试通知.*?2026-11-30.*?超期 2 个工作日", page, re.S)
    assert re.search(r"F：三日内到期.*?2026-12-04.*?还剩 2 个工作日", page, re.S)
    assert re.search(r"G：跨年信息.*?2027年的法定节假日安排尚未收录", page, re.S)
    assert "K：县里已公开" not in page  # read from the county's site: disclosed there
    board = await (await client.get("/")).text()
    assert re.search(r'id="due-block".*?<b>1</b> 条已超期，<b>2</b> 条', board, re.S)


async def test_delivery_log_and_dashboard_date_ranges(client: Client) -> None:
    # A and B went out on 3 and 5 Nov, C on 20 Nov (Beijing time): count their messages
    first_week = sum(n for k in ("A", "B") for *_, n in DELIVERIES[k])
    page = await (await client.get("/deliveries?from=2026-11-01&to=2026-11-08")).text()
    assert f"共 {first_week} 条" in page
    page = await (await client.get("/deliveries?from=2026-11-06&to=2026-11-30")).text()
    assert f"共 {sum(n for *_, n in DELIVERIES['C'])} 条" in page
    one_day = await (await client.get("/deliveries?date=2026-11-05")).text()
    assert f"共 {sum(n for *_, n in DELIVERIES['B'])} 条" in one_day
    board = await (await client.get("/?from=2026-11-03&to=2026-11-03")).text()
    assert "2026-11-03 至 2026-11-03各村送达率" in board
    # only A's messages (3 Nov): reached / settled per village, from its delivery list
    for village, code in (("东村", "360123101"), ("西村", "360123102")):
        rows = [(status, n) for grid, _, status, n in DELIVERIES["A"] if grid.startswith(code)]
        reached = sum(n for s, n in rows if s in ("delivered", "sent", "confirmed"))
        rate = round(100 * reached / sum(n for _, n in rows))
        assert re.search(rf"{village}</span>.*?<span>{rate}%</span>", board, re.S), village


async def _review(client: Client, item: int, forms: list[str]) -> int:
    data = FormData()
    for name, value in (("csrf", await csrf(client)), ("step", "staff"),
                        ("decision", "approve"), ("opinion", "不涉密")):  # fmt: skip
        data.add_field(name, value)
    for form in forms:
        data.add_field("publish_form", form)
    resp = await client.post(f"/items/{item}/review", data=data, allow_redirects=False)
    return resp.status


async def test_publish_forms_are_a_set_of_choices(
    client: Client, sqlite_settings: Settings
) -> None:
    async with open_resources(sqlite_settings) as r, r.db() as db:
        item = (await db.scalars(Item.__table__.select().where(Item.title == "S：待审查"))).one()
    page = await (await client.get(f"/items/{item}")).text()
    boxes = re.findall(r'name="publish_form" value="([^"]+)"', page)
    assert boxes == ["公众号", "短信", "村(居)民微信群", "企业微信群", "政府网站", "政务公开栏"]
    assert await _review(client, item, ["微博"]) == 400  # not a channel pusher knows
    async with open_resources(sqlite_settings) as r, r.db() as db:
        assert (await db.get(Item, item)).status == "submitted"  # type: ignore[union-attr]
    assert await _review(client, item, ["短信", "公众号"]) == 302
    async with open_resources(sqlite_settings) as r, r.db() as db:
        query = select(Review.publish_form).where(Review.step == "staff", Review.item_id == item)
        assert list(await db.scalars(query)) == ["公众号、短信"]  # the list's order
    page = await (await client.get(f"/items/{item}")).text()  # the leader's form
    ticked = re.findall(r'name="publish_form" value="([^"]+)" checked', page)
    assert ticked == ["公众号", "短信"]


async def test_item_page_shows_its_deadline(client: Client, sqlite_settings: Settings) -> None:
    item = client.ids["B"]  # type: ignore[attr-defined]
    page = await (await client.get(f"/items/{item}")).text()
    # B: formed 15 Oct, 10 working days → 29 Oct; approved 5 Nov (see month.py)
    line = ("公开时限：10 个工作日（自形成日期 2026-10-15），截止 2026-10-29，"
            "2026-11-05 审批发布，超期")
    assert line in page
    titles = ["F：三日内到期", "G：跨年信息"]
    async with open_resources(sqlite_settings) as r, r.db() as db:
        found = await db.execute(select(Item.title, Item.id).where(Item.title.in_(titles)))
        ids = dict(found.all())
    page = await (await client.get(f"/items/{ids['F：三日内到期']}")).text()
    assert "截止 2026-12-04，还剩 2 个工作日" in page
    resp = await client.get(f"/items/{ids['G：跨年信息']}")
    assert resp.status == 200 and "2027年的法定节假日安排尚未收录" in await resp.text()
