"""A 100,000-row delivery export streams: every row in the file, the event loop never held,
memory bounded by a partition (the whole body held at once takes far more), the audit row
filled in with the rows written; a download broken off leaves no file and says so."""

from __future__ import annotations

import asyncio
import csv
import ctypes
import re
import tempfile
import time
import zipfile
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiohttp.test_utils import make_mocked_request
from sqlalchemy import insert, select

from pusher.console.streamed import send
from pusher.db import transaction
from pusher.models import AuditLog, Delivery
from pusher.settings import Settings
from tests.console.test_console import Console, _console, db_of
from tests.looplag import watch

ROWS = 100_000
PUSH = 999
#: CPU seconds the loop's thread may work between two 5 ms ticks (seen: 6-10 ms, a
#: partition's rows turned into Python values; before, 24 ms (csv) and 48 ms (xlsx))
MAX_CPU = 0.025
#: how far the process's resident memory may rise over the export (kB): a partition of
#: rows, its file text, the threads' and SQLite's buffers (seen: 0-3 MB). Holding all the
#: rows and then the whole body, as exports did before, rose 83 MB (csv), 60 MB (xlsx).
MAX_GROWTH = 30 * 1024
FIRST_CELL = re.compile(rb'<row r="\d+"[^>]*><c r="A\d+"[^>]*><v>(\d+)</v>')


@pytest.fixture
async def console(sqlite_settings: Settings) -> AsyncIterator[Console]:
    async for c in _console(sqlite_settings):
        yield c


@pytest.fixture
async def any_console(any_settings: Settings) -> AsyncIterator[Console]:
    async for c in _console(any_settings):
        yield c


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where temporary files go during the test (openpyxl's and the export's own)."""
    where = tmp_path / "temp"
    where.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(where))
    return where


def _files(where: Path) -> list[str]:
    return [p.name for p in where.iterdir()]


def _status(key: str) -> int:
    return int(re.search(rf"{key}:\s+(\d+)", Path("/proc/self/status").read_text())[1])  # type: ignore[index]


@contextmanager
def rss_growth() -> Iterator[list[int]]:
    """The most the resident set grew (kB) over the block: memory freed before it is
    handed back to the system first, so the block cannot hide in it (Linux, glibc)."""
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    base = _status("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) starts again here
    growth: list[int] = []
    yield growth
    growth.append(_status("VmHWM") - base)


async def _deliveries(console: Console, count: int) -> list[int]:
    rows = [
        {"push_id": PUSH, "channel": "sms", "recipient": f"139{i:08d}", "status": "delivered"}
        for i in range(count)
    ]
    async with transaction(db_of(console)) as db:
        for start in range(0, count, 10_000):
            await db.execute(insert(Delivery), rows[start : start + 10_000])
    async with db_of(console)() as db:
        return list((await db.scalars(select(Delivery.id).where(Delivery.push_id == PUSH))).all())


async def _download(console: Console, fmt: str, out: Path) -> float:
    """Save the export to ``out`` as it arrives; answer the seconds it took."""
    began = time.perf_counter()
    resp = await console.client.get(f"/deliveries/export.{fmt}?push={PUSH}")
    assert resp.status == 200
    with out.open("wb") as f:
        async for chunk in resp.content.iter_chunked(64 * 1024):
            f.write(chunk)
    return time.perf_counter() - began


def _ids(fmt: str, path: Path) -> list[int]:
    """The first column of every data row of the file."""
    if fmt == "csv":
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows = csv.reader(f)
            assert next(rows)[0] == "编号"
            return [int(r[0]) for r in rows]
    with zipfile.ZipFile(path) as book:
        xml = book.read("xl/worksheets/sheet1.xml")
    assert xml.count(b"<row ") == len(FIRST_CELL.findall(xml)) + 1  # one header row
    return [int(v) for v in FIRST_CELL.findall(xml)]


async def _audits(console: Console) -> list[dict[str, object]]:
    async with db_of(console)() as db:
        query = select(AuditLog.detail).where(AuditLog.action == "deliveries.export")
        return list((await db.scalars(query.order_by(AuditLog.id))).all())


@pytest.mark.usefixtures("settled_heap")
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_a_100k_row_export_streams(
    any_console: Console, tmp_path: Path, temp_dir: Path, fmt: str
) -> None:
    console = any_console
    ids = await _deliveries(console, ROWS)
    await console.login("admin")
    out = tmp_path / f"export.{fmt}"
    with rss_growth() as growth:
        took, held = await watch(_download(console, fmt, out))
    print(f"\n{fmt}: {took:.1f} s, loop {held.cpu * 1000:.0f} ms, +{growth[0] / 1024:.0f} MB")
    assert _ids(fmt, out) == ids
    assert growth[0] < MAX_GROWTH, f"memory grew by {growth[0] / 1024:.0f} MB"
    assert held.cpu < MAX_CPU, f"the loop worked {held.cpu * 1000:.0f} ms at once"
    assert _files(temp_dir) == []
    assert await _filled_in(console) == {"format": fmt, "rows": ROWS, "complete": True}


async def _filled_in(console: Console) -> dict[str, object]:
    """The export's audit row once its handler has ended (the rows written are filled in
    after the last byte has gone)."""
    for _ in range(400):
        (detail,) = await _audits(console)
        if detail["rows"]:
            return detail
        await asyncio.sleep(0.05)
    raise AssertionError(f"the export's audit row was never filled in: {detail}")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_a_download_broken_off_leaves_nothing_and_is_audited(
    console: Console, temp_dir: Path, fmt: str
) -> None:
    await _deliveries(console, 20_000)
    await console.login("admin")
    resp = await console.client.get(f"/deliveries/export.{fmt}?push={PUSH}")
    assert resp.status == 200
    await resp.content.readexactly(1000)
    resp.close()  # the connection is dropped, not read to the end
    detail = await _filled_in(console)
    assert detail["complete"] is False
    assert 0 < int(detail["rows"]) <= 20_000  # type: ignore[call-overload]
    assert _files(temp_dir) == []


def _request() -> object:
    return make_mocked_request("GET", "/deliveries/export.xlsx")


async def test_a_workbook_given_up_half_way_leaves_no_file(temp_dir: Path) -> None:
    async def parts() -> AsyncIterator[list[list[int]]]:
        yield [[1], [2]]
        yield [[3]]
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        await send(_request(), "xlsx", "x", ["n"], parts())  # type: ignore[arg-type]
    assert _files(temp_dir) == []


async def test_a_cancelled_export_waits_for_its_thread(temp_dir: Path) -> None:
    """Cancelled while a partition is written, the export ends only when that write has."""
    writing = asyncio.Event()
    busy: list[bool] = []
    loop = asyncio.get_running_loop()

    def slow(row: list[int]) -> list[int]:
        busy.append(True)
        loop.call_soon_threadsafe(writing.set)
        time.sleep(0.3)
        busy.pop()
        return row

    async def parts() -> AsyncIterator[list[list[int]]]:
        while True:
            yield [[1]]

    task = asyncio.ensure_future(
        send(_request(), "xlsx", "x", ["n"], parts(), line=slow)  # type: ignore[arg-type]
    )
    await writing.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert busy == [], "a thread was still writing the workbook after the export ended"
    assert _files(temp_dir) == []


def test_first_cells_pattern_reads_what_openpyxl_writes(tmp_path: Path) -> None:
    """The xlsx check above reads the sheet's XML directly (openpyxl's reader is slow
    over 100,000 rows): it must see the rows openpyxl writes."""
    from pusher.console.tabular import xlsx_bytes

    path = tmp_path / "x.xlsx"
    path.write_bytes(xlsx_bytes(["编号", "a"], ([i, "=x"] for i in (5, 7, 11))))
    assert _ids("xlsx", path) == [5, 7, 11]
