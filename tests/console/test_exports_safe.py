"""What leaves the console: formula cells neutralised, addresses masked, exports off the
event loop, and the retry form's way back always a proper redirect."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import time
from collections.abc import AsyncIterator

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, func, insert, select

from pusher.console.tabular import csv_bytes, xlsx_bytes
from pusher.db import transaction
from pusher.models import AuditLog, Delivery, Resident, ResidentTag
from pusher.settings import Settings
from tests.console.test_console import Console, _console, _pushed, db_of

EVIL = '=HYPERLINK("http://x","y")'
EVIL_TAG = "@SUM(1+1)"


@pytest.fixture
async def console(sqlite_settings: Settings) -> AsyncIterator[Console]:
    async for c in _console(sqlite_settings):
        yield c


async def _poison(console: Console) -> int:
    """A resident of grid 1 renamed to a formula, with a formula tag (as a grid worker could)."""
    async with transaction(db_of(console)) as db:
        resident = await db.scalar(
            select(Resident).where(Resident.region_id == console.grid_ids[0]).order_by(Resident.id)
        )
        assert resident is not None and resident.id is not None
        resident.name = EVIL
        await db.execute(delete(ResidentTag).where(ResidentTag.resident_id == resident.id))
        db.add(ResidentTag(resident_id=resident.id, tag=EVIL_TAG))
        return resident.id


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_resident_export_neutralises_formulas(console: Console, fmt: str) -> None:
    await _poison(console)
    await console.login("grid_worker")
    resp = await console.client.get(f"/residents/export.{fmt}")
    assert resp.status == 200
    data = await resp.read()
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    else:
        sheet = load_workbook(io.BytesIO(data)).active
        assert sheet is not None
        rows = [[c if c is not None else "" for c in r] for r in sheet.iter_rows(values_only=True)]
    poisoned = [r for r in rows if EVIL in str(r[0])]
    assert [(r[0], r[4]) for r in poisoned] == [("'" + EVIL, "'" + EVIL_TAG)]
    assert not any(str(c).startswith(("=", "@", "+", "-")) for r in rows for c in r)


def test_only_text_cells_are_neutralised() -> None:
    rows = [[-5, "-5", 3.5, "+86 138", "\tx", "普通"]]
    sheet = load_workbook(io.BytesIO(xlsx_bytes(["a"] * 6, rows))).active
    assert sheet is not None
    assert [c.value for c in sheet[2]] == [-5, "'-5", 3.5, "'+86 138", "'\tx", "普通"]
    text = csv_bytes(["a"] * 6, rows).decode("utf-8-sig")
    assert next(csv.reader(io.StringIO(text.splitlines()[1]))) == [
        "-5", "'-5", "3.5", "'+86 138", "'\tx", "普通",
    ]  # fmt: skip


async def test_delivery_pages_and_sandbox_show_no_whole_addresses(console: Console) -> None:
    await _pushed(console)  # signed in as the office's reviewer
    async with db_of(console)() as db:
        rows = (await db.execute(select(Resident.phone, Resident.openid))).all()
    secrets = {v for row in rows for v in row if v}
    assert any(v.startswith("o") for v in secrets)  # the town has WeChat followers
    for path in (
        "/deliveries",
        "/deliveries?channel=wechat",
        "/deliveries/export.csv?channel=wechat",
        "/sandbox",
    ):
        page = (await (await console.client.get(path)).read()).decode("utf-8-sig")
        leaked = [s for s in secrets if s in page]
        assert not leaked, (path, leaked[:3])
    sandbox = await (await console.client.get("/sandbox")).text()
    box = re.findall(r'href="\?box=(\d+)">[^<]*138\*{4}\d{4}', sandbox)
    assert box
    inbox = await (await console.client.get(f"/sandbox?box={box[0]}")).text()
    assert "【政务公开】" in inbox and not [s for s in secrets if s in inbox]


@pytest.mark.parametrize(
    "back", ["/deliveries\r\nX-Evil: 1", "status=failed\r\nX-Evil: 1", "//evil.example/x"]
)
async def test_retry_back_with_control_characters_still_redirects(
    console: Console, back: str
) -> None:
    await _pushed(console)
    resp = await console.post(
        "/deliveries/retry?status=failed", {"back": back}, allow_redirects=False
    )
    assert resp.status == 302  # type: ignore[attr-defined]
    location = resp.headers["Location"]  # type: ignore[attr-defined]
    assert "X-Evil" not in resp.headers  # type: ignore[attr-defined]
    assert location.startswith("/deliveries?") and "\r" not in location and "evil" not in location
    assert "retried=10" in location and "status=failed" in location
    async with db_of(console)() as db:
        left = await db.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.status == "failed")
        )
        retries = await db.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "deliveries.retry")
        )
    assert left == 0 and retries == 1


async def test_retry_back_keeps_the_pages_filters(console: Console) -> None:
    await _pushed(console)
    resp = await console.post(
        "/deliveries/retry", {"back": "channel=sms&status=failed&x=1"}, allow_redirects=False
    )
    location = resp.headers["Location"]  # type: ignore[attr-defined]
    assert location.startswith("/deliveries?channel=sms&status=failed&retried=")
    assert "x=1" not in location


async def _many_residents(console: Console, count: int) -> None:
    values = [
        {
            "name": f"居民{i}",
            "region_id": console.grid_ids[i % len(console.grid_ids)],
            "phone": f"139{i:08d}",
            "sms_consent": True,
            "wechat_follows": False,
            "wechat_opt_out": False,
            "sms_opt_out": False,
        }
        for i in range(count)
    ]
    async with transaction(db_of(console)) as db:
        await db.execute(insert(Resident), values)


async def _max_lag(work: asyncio.Future[object] | asyncio.Task[object]) -> float:
    """The most CPU the event loop's own thread spent between two 5 ms ticks while ``work``
    ran: work done on the loop shows here, work in another thread does not (wall-clock lag
    would also count the other thread's hold on the GIL and the machine's other load)."""
    worst = 0.0
    while not work.done():
        before = time.thread_time()
        await asyncio.sleep(0.005)
        worst = max(worst, time.thread_time() - before)
    return worst


@pytest.mark.usefixtures("settled_heap")
async def test_a_large_export_does_not_stall_the_event_loop(console: Console) -> None:
    await _many_residents(console, 20_000)
    await console.login("admin")
    export = asyncio.ensure_future(console.client.get("/residents/export.xlsx"))
    lag = await _max_lag(export)
    resp = await export
    sheet = load_workbook(io.BytesIO(await resp.read()), read_only=True).active
    assert sheet is not None and sum(1 for _ in sheet.iter_rows()) > 20_000
    assert lag < 0.1, f"the event loop worked for {lag:.3f} s at a stretch during the export"


@pytest.mark.usefixtures("settled_heap")
async def test_a_large_delivery_export_does_not_stall_the_event_loop(console: Console) -> None:
    rows = [
        {"push_id": 999, "channel": "sms", "recipient": f"139{i:08d}", "status": "delivered"}
        for i in range(20_000)
    ]
    async with transaction(db_of(console)) as db:
        await db.execute(insert(Delivery), rows)
    await console.login("admin")
    export = asyncio.ensure_future(console.client.get("/deliveries/export.xlsx?push=999"))
    lag = await _max_lag(export)
    resp = await export
    sheet = load_workbook(io.BytesIO(await resp.read()), read_only=True).active
    assert sheet is not None and sum(1 for _ in sheet.iter_rows()) == 20_001
    assert lag < 0.1, f"the event loop worked for {lag:.3f} s at a stretch during the export"
