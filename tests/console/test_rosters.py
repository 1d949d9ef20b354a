"""Rosters as offices keep them, through the console: header variants, the report before
commit, re-upload (update, add, moved-out list), bad files, and the export → upload loop."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

import pytest
from aiohttp import FormData
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from pusher.cli import commands
from pusher.models import Region, Resident, ResidentTag, Subscription, Topic
from pusher.web.keys import SETTINGS
from tests.console.test_console import Console, console, db_of

__all__ = ["console"]  # the fixture, imported for these tests

COUNTS = re.compile(r"新增 <b>(\d+)</b>，修改 <b>(\d+)</b>，不变 (\d+)，有误 <b[^>]*>(\d+)</b>")
DRAFT = re.compile(r'name="draft" value="([0-9a-f]+)"')


def sheet(header: list[str], rows: list[list[object]]) -> bytes:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def upload(console: Console, data: bytes, name: str = "名单.xlsx") -> tuple[int, str]:
    form = FormData()
    form.add_field("csrf", await console.csrf("/residents/import"))
    form.add_field("file", data, filename=name)
    resp = await console.client.post("/residents/import", data=form)
    return resp.status, await resp.text()


def counts(page: str) -> tuple[int, int, int, int]:
    found = COUNTS.search(page)
    assert found, page[-3000:]
    add, change, same, error = (int(g) for g in found.groups())
    return add, change, same, error


async def decide(console: Console, page: str, apply: str, moved: list[int] = ()) -> str:  # type: ignore[assignment]
    draft = DRAFT.search(page)
    assert draft, page[-2000:]
    fields: list[tuple[str, object]] = [("draft", draft.group(1)), ("apply", apply)]
    fields += [("moved_out", str(m)) for m in moved]
    form = FormData()
    form.add_field("csrf", await console.csrf("/residents/import"))
    for k, v in fields:
        form.add_field(k, str(v))
    resp = await console.client.post("/residents/import/apply", data=form)
    assert resp.status == 200, await resp.text()
    return await resp.text()


async def grid_names(console: Console) -> tuple[str, str]:
    async with db_of(console)() as db:
        names = {rid: name for rid, name in await db.execute(select(Region.id, Region.name))}
    return names[console.grid_ids[0]], names[console.grid_ids[1]]


async def people(console: Console, **where: object) -> list[Resident]:
    async with db_of(console)() as db:
        query = select(Resident).filter_by(**where).order_by(Resident.id)
        return list((await db.scalars(query)).all())


async def total(console: Console) -> int:
    async with db_of(console)() as db:
        return int(await db.scalar(select(func.count()).select_from(Resident)) or 0)


async def test_office_headers_are_read_and_unknown_columns_listed(console: Console) -> None:
    await console.login("grid_worker")
    mine, _ = await grid_names(console)
    async with db_of(console)() as db:
        topic = await db.scalar(select(Topic.name).order_by(Topic.id))
    header = [
        "居民姓名",
        "手机号码",
        "网格名称",
        "身份证后四位",
        "标签",
        "订阅",
        "同意短信",
        "备注",
    ]
    data = sheet(
        header,
        [
            ["周一", "13955550001", mine, "0012", "老年人；低保户,独居", topic, "否", "东头"],
            ["周二", "13955550002", mine, "0345", "", "", "", ""],
            ["周三", "13955550003", mine, "1X", "", "", "是", ""],
        ],
    )
    before = await total(console)
    status, page = await upload(console, data)
    assert status == 200 and counts(page) == (3, 0, 0, 0)
    assert "以下列不认识，已忽略：备注" in page
    assert await total(console) == before  # a report, nothing written yet
    await decide(console, page, "good")
    one, two, three = [await people(console, name=n) for n in ("周一", "周二", "周三")]
    assert one[0].stable_key == "0012" and one[0].sms_consent is False
    assert two[0].sms_consent is False  # an empty cell: the town's default (off here)
    assert three[0].sms_consent is True
    async with db_of(console)() as db:
        tags = set(
            (
                await db.scalars(
                    select(ResidentTag.tag).where(ResidentTag.resident_id == one[0].id)
                )
            ).all()
        )
        subs = (
            await db.scalars(
                select(Subscription.topic_id).where(Subscription.resident_id == one[0].id)
            )
        ).all()
    assert tags == {"老年人", "低保户", "独居"} and len(subs) == 1


async def test_reupload_updates_adds_and_lists_moved_out(console: Console) -> None:
    await console.login("grid_worker")
    mine, _ = await grid_names(console)
    header = ["姓名", "联系电话", "所属网格", "身份证后四位", "标签"]
    first = [
        ["吴一", "13966660001", mine, "1001", "老年人"],
        ["吴二", "13966660002", mine, "1002", ""],
        ["吴三", "13966660003", mine, "", ""],
        ["吴四", "13966660004", mine, "", ""],
    ]
    _, page = await upload(console, sheet(header, first))
    await decide(console, page, "good")
    before = await total(console)
    second = [
        ["吴一", "13966669999", mine, "1001", "老年人"],  # key match: the phone changed
        ["吴二", "13966660002", mine, "1002", ""],  # unchanged
        ["吴三改", "13966660003", mine, "", ""],  # phone match in the grid: a corrected name
        ["吴五", "13966660005", mine, "", "残疾人"],  # new
    ]  # 吴四 is not in the file
    status, page = await upload(console, sheet(header, second))
    assert status == 200 and counts(page) == (1, 2, 1, 0), page[-3000:]
    wu4 = (await people(console, name="吴四"))[0]
    assert f'value="{wu4.id}"' in page and "吴四" in page
    assert await total(console) == before  # nothing written before the choice
    done = await decide(console, page, "good", moved=[wu4.id or 0])
    assert "已写入 3 人" in done and "1 人已确认迁出" in done
    assert (await people(console, name="吴一"))[0].phone == "13966669999"
    assert await people(console, name="吴三改") and not await people(console, name="吴三")
    assert await people(console, name="吴五")
    assert (await people(console, name="吴四"))[0].moved_out_at is not None  # kept, marked
    listing = await (await console.client.get("/residents?q=吴四")).text()
    assert "吴四</a> <span class=\"hint\">已迁出</span>" in listing
    assert await total(console) == before + 1
    back = [*second, ["吴四", "13966660004", mine, "", ""]]  # came back: 迁回
    _, page = await upload(console, sheet(header, back))
    assert counts(page) == (0, 1, 4, 0) and "迁回" in page, page[-2000:]
    await decide(console, page, "good")
    assert (await people(console, name="吴四"))[0].moved_out_at is None


async def test_missing_residents_are_never_moved_out_unasked(console: Console) -> None:
    await console.login("grid_worker")
    mine, _ = await grid_names(console)
    _, page = await upload(
        console, sheet(["姓名", "手机号", "所属网格"], [["郑一", "13977770001", mine]])
    )
    await decide(console, page, "good")
    async with db_of(console)() as db:
        moved = await db.scalar(
            select(func.count()).select_from(Resident).where(Resident.moved_out_at.is_not(None))
        )
    assert moved == 0  # the grid's other residents were listed, not touched


async def test_bad_rows_are_reported_and_none_or_only_good_rows_written(console: Console) -> None:
    await console.login("grid_worker")
    mine, theirs = await grid_names(console)
    rows = [
        ["王一", "13988880001", mine, "2001"],
        ["王二", "1398888", mine, ""],  # bad phone
        ["@王三", "13988880003", mine, ""],  # a formula to a spreadsheet
        ["王四", "13988880004", theirs, ""],  # not my grid
        ["王五", "13988880005", "无此网格", ""],
        ["王六", "13988880006", mine, "2001"],  # same key as row 2
        ["王七", "13988880007", mine, "x" * 300],  # cell too long
        ["王八", "13988880008", mine, ""],
        ["王八", "13988880008", mine, ""],  # the same person twice
        ["王九", "13988880008", mine, ""],  # shares 王八's phone: allowed
    ]
    before = await total(console)
    status, page = await upload(console, sheet(["姓名", "手机号", "所属网格", "编号"], rows))
    assert status == 200 and counts(page) == (3, 0, 0, 7)
    for row, why in (
        (3, "不是有效的大陆手机号"),
        (4, "不能以 = + - @ 开头"),
        (5, "不是你负责的网格"),
        (6, "找不到网格"),
        (7, "与第 2 行重复"),
        (8, "超过 200 字"),
        (10, "姓名和手机号与第 9 行重复"),
    ):
        assert re.search(
            rf"第 {row} 行</td><td>[^<]*</td><td[^>]*>有误</td><td>[^<]*{re.escape(why)}", page
        ), why
    done = await decide(console, page, "none")
    assert "未导入任何一行" in done and await total(console) == before
    _, page = await upload(console, sheet(["姓名", "手机号", "所属网格", "编号"], rows))
    await decide(console, page, "good")
    assert await total(console) == before + 3 and await people(console, name="王一")


async def test_a_file_without_required_columns_writes_nothing(console: Console) -> None:
    await console.login("grid_worker")
    before = await total(console)
    status, page = await upload(console, sheet(["名字", "号码"], [["李一", "13900001111"]]))
    assert status == 422 and "缺少列：姓名、所属网格" in page and 'name="draft"' not in page
    assert await total(console) == before


async def test_gbk_csv_as_excel_writes_it(console: Console) -> None:
    await console.login("grid_worker")
    mine, _ = await grid_names(console)
    text = f"姓名,电话,网格\r\n陈一,13912340001,{mine}\r\n"
    status, page = await upload(console, text.encode("gbk"), "名单.csv")
    assert status == 200 and counts(page) == (1, 0, 0, 0)
    status, page = await upload(console, text.encode("utf-8-sig"), "名单.csv")
    assert status == 200 and counts(page) == (1, 0, 0, 0)


async def test_export_edit_upload_loop_changes_nothing(console: Console) -> None:
    await console.login("grid_worker")
    mine, _ = await grid_names(console)
    _, page = await upload(
        console,
        sheet(
            ["姓名", "手机号", "所属网格", "身份证后四位", "标签", "同意短信"],
            [
                ["何一", "13900002222", mine, "0007", "老年人、独居", "是"],
                ["何二", "13900002222", mine, "0008", "", "否"],
            ],
        ),
    )
    await decide(console, page, "good")
    exported = await (await console.client.get("/residents/export.xlsx")).read()
    book = load_workbook(io.BytesIO(exported))
    ws = book.active
    assert ws is not None
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    on_record = len(rows) - 1
    resaved = io.BytesIO()
    book.save(resaved)  # what Excel does when the user saves without editing
    status, page = await upload(console, resaved.getvalue())
    assert status == 200 and counts(page) == (0, 0, on_record, 0), page[-2000:]
    assert "以下列不认识" not in page and 'name="moved_out"' not in page
    for row in ws.iter_rows(min_row=2):
        if row[0].value == "何一":
            row[4].value = "老年人"  # one edit: one change, nothing else
    edited = io.BytesIO()
    book.save(edited)
    status, page = await upload(console, edited.getvalue())
    assert counts(page) == (0, 1, on_record - 1, 0)


async def test_the_cli_imports_the_same_rosters_all_or_nothing(
    console: Console, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = console.client.server.app[SETTINGS]
    mine, _ = await grid_names(console)
    path = tmp_path / "名单.xlsx"
    path.write_bytes(
        sheet(["姓名", "电话", "网格"], [["褚一", "13900003333", mine], ["褚二", "139", mine]])
    )
    before = await total(console)
    assert await asyncio.to_thread(commands.import_residents, settings, path) == 1
    assert "第 3 行（褚二）" in capsys.readouterr().err and await total(console) == before
    path.write_bytes(sheet(["姓名", "电话", "网格"], [["褚一", "13900003333", mine]]))
    assert await asyncio.to_thread(commands.import_residents, settings, path) == 0
    assert "新增 1 人" in capsys.readouterr().out and await total(console) == before + 1


async def test_a_roster_never_resubscribes_a_resident_who_left_a_topic(console: Console) -> None:
    """The 订阅 column adds and removes topics, but a topic the resident unsubscribed
    from themselves (``opted_out``) stays off whatever the office's list says."""
    await console.login("grid_worker")
    mine, _ = await grid_names(console)
    async with db_of(console)() as db:
        first, second = [
            (tid, name)
            for tid, name in await db.execute(select(Topic.id, Topic.name).order_by(Topic.id))
        ][:2]
    header = ["姓名", "手机号", "所属网格", "订阅"]
    both = f"{first[1]}、{second[1]}"
    _, page = await upload(console, sheet(header, [["郑一", "13944440001", mine, both]]))
    await decide(console, page, "good")
    (zheng,) = await people(console, name="郑一")

    async def subs() -> dict[int, bool]:
        async with db_of(console)() as db:
            rows = await db.execute(
                select(Subscription.topic_id, Subscription.opted_out).where(
                    Subscription.resident_id == zheng.id
                )
            )
            return {tid: out for tid, out in rows}

    assert await subs() == {first[0]: False, second[0]: False}
    async with db_of(console)() as db:  # the resident leaves the first topic (公众号 菜单)
        sub = await db.get(Subscription, (zheng.id, first[0]))
        assert sub is not None
        sub.opted_out = True
        await db.commit()
    _, page = await upload(console, sheet(header, [["郑一", "13944440001", mine, both]]))
    assert counts(page) == (0, 0, 1, 0), page[-2000:]  # nothing to change: not a change
    await decide(console, page, "good")
    assert await subs() == {first[0]: True, second[0]: False}
    # the office drops the second topic, then puts it back: a roster may do that
    _, page = await upload(console, sheet(header, [["郑一", "13944440001", mine, first[1]]]))
    assert counts(page) == (0, 1, 0, 0), page[-2000:]
    await decide(console, page, "good")
    assert await subs() == {first[0]: True}
    _, page = await upload(console, sheet(header, [["郑一", "13944440001", mine, both]]))
    await decide(console, page, "good")
    assert await subs() == {first[0]: True, second[0]: False}
