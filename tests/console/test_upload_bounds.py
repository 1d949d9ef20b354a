"""Resident uploads are hostile until read: zip bombs, too many rows, formula cells and
thousands of errors are answered quickly, in Chinese, with nothing imported."""

from __future__ import annotations

import io
import re
import time
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import FormData
from openpyxl import Workbook
from sqlalchemy import func, select

from pusher.models import Region, Resident
from pusher.settings import Settings
from subscriptions.importer import FileRefused, read_file, read_rows
from tests.console.test_console import Console, _console, db_of

SHEET = "xl/worksheets/sheet1.xml"
ROW = '<row><c t="inlineStr"><is><t>张三</t></is></c><c><v>13912345678</v></c></row>'


@pytest.fixture
async def console(sqlite_settings: Settings) -> AsyncIterator[Console]:
    async for c in _console(sqlite_settings):
        yield c


def _bomb(sheet_bytes: int) -> bytes:
    """A real workbook whose first sheet is replaced by ``sheet_bytes`` of repeated rows."""
    book = Workbook()
    book.active.append(["姓名", "手机号", "所属网格"])  # type: ignore[union-attr]
    plain = io.BytesIO()
    book.save(plain)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(plain) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            if info.filename != SHEET:
                target.writestr(info, source.read(info))
                continue
            with target.open(SHEET, "w", force_zip64=True) as sheet:
                sheet.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/'
                            b'spreadsheetml/2006/main"><sheetData>')  # fmt: skip
                chunk = ROW.encode() * 10_000
                for _ in range(sheet_bytes // len(chunk)):
                    sheet.write(chunk)
                sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


async def _upload(console: Console, data: bytes, filename: str) -> tuple[int, str]:
    form = FormData()
    form.add_field("csrf", await console.csrf("/residents/import"))
    form.add_field("file", data, filename=filename)
    resp = await console.client.post("/residents/import", data=form)
    return resp.status, await resp.text()


async def _residents(console: Console) -> int:
    async with db_of(console)() as db:
        return await db.scalar(select(func.count()).select_from(Resident)) or 0


async def _grid_code(console: Console) -> str:
    async with db_of(console)() as db:
        code = await db.scalar(select(Region.code).where(Region.id == console.grid_ids[0]))
    assert code
    return code


async def test_a_zip_bomb_is_refused_quickly_with_nothing_imported(console: Console) -> None:
    bomb = _bomb(40 * 1024 * 1024)
    assert len(bomb) < 1024 * 1024  # small enough for any upload limit
    before = await _residents(console)
    await console.login("grid_worker")
    started = time.perf_counter()
    status, page = await _upload(console, bomb, "名单.xlsx")
    elapsed = time.perf_counter() - started
    assert status == 413 and "压缩炸弹" in page, (status, page[-400:])
    assert elapsed < 2, elapsed
    assert len(page) < 50_000 and await _residents(console) == before


def test_a_tightly_packed_member_is_refused_even_under_the_size_cap() -> None:
    bomb = _bomb(12 * 1024 * 1024)  # under the 20 MB cap, packed about 1000:1
    with pytest.raises(FileRefused, match="压缩比"):
        read_rows(bomb, "名单.xlsx")


async def test_too_many_rows_are_refused(console: Console) -> None:
    code = await _grid_code(console)
    lines = ["姓名,手机号,所属网格"] + [f"居民{i},139{i:08d},{code}" for i in range(20_001)]
    before = await _residents(console)
    await console.login("grid_worker")
    status, page = await _upload(console, "\n".join(lines).encode(), "名单.csv")
    assert status == 413 and "超过 20000 行" in page
    assert await _residents(console) == before


async def test_thousands_of_errors_show_the_first_hundred_and_a_count(console: Console) -> None:
    code = await _grid_code(console)
    lines = ["姓名,手机号,所属网格"] + [f"居民{i},12345,{code}" for i in range(5_000)]
    await console.login("grid_worker")
    status, page = await _upload(console, "\n".join(lines).encode(), "名单.csv")
    report = page[page.index('id="report"') :]
    assert status == 200 and "有误 <b class=\"alert\">5000</b>" in report
    assert len(re.findall(r'<td class="nw">第 \d+ 行</td>', report)) == 100
    assert "另有 4900 行未列出" in report


@pytest.mark.parametrize("name", ['=HYPERLINK("http://x","y")', "@SUM(1)", "+1", "-1+2"])
async def test_a_formula_in_a_name_is_a_row_error(console: Console, name: str) -> None:
    code = await _grid_code(console)
    csv_name = '"' + name.replace('"', '""') + '"'
    lines = [
        "姓名,手机号,所属网格,微信,标签",
        f"{csv_name},13912340000,{code},,",
        f"李四,13912340001,{code},,=1+1",
    ]
    before = await _residents(console)
    await console.login("grid_worker")
    status, page = await _upload(console, "\n".join(lines).encode(), "名单.csv")
    assert status == 200 and "写入 0 行合格的" in page  # a report: nothing written yet
    assert "第 2 行" in page and "姓名不能以" in page
    assert "第 3 行" in page and "标签不能以" in page
    assert await _residents(console) == before


def test_an_oversized_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    big = tmp_path / "名单.csv"
    big.write_bytes(("姓名,手机号,所属网格\n" + "张三,13912345678,第1网格\n" * 200_000).encode())
    assert big.stat().st_size > 5 * 1024 * 1024
    with pytest.raises(FileRefused, match="超过 5 MB"):
        read_file(big)
