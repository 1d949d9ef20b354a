"""Writing rows as an .xlsx or a .csv download (CSV with a BOM so Excel reads Chinese).

Every text cell goes through :func:`neutralise`: a cell a spreadsheet would read as a
formula (``=HYPERLINK(…)`` typed into a resident's name) is written as text. The file is
built in a thread, so a large export does not stop the event loop.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from aiohttp import web
from openpyxl import Workbook
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from subscriptions.importer import FORMULA_STARTS  # the one rule, for imports and exports

CHUNK = 1000


def neutralise(value: Any) -> Any:
    """``value`` safe for a spreadsheet cell: text that would start a formula gets a ``'``.

    Numbers (a real -5) stay numbers; only text cells are changed.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _safe(row: Sequence[Any]) -> list[Any]:
    return [neutralise(v) for v in row]


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """An .xlsx workbook of ``header`` and ``rows``, text cells neutralised."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(_safe(header))
    for row in rows:
        sheet.append(_safe(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A UTF-8 (with BOM) CSV of ``header`` and ``rows``, text cells neutralised."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_safe(header))
    writer.writerows(_safe(row) for row in rows)
    return out.getvalue().encode("utf-8-sig")


def file_bytes(fmt: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """The file body in ``fmt`` (``xlsx`` or ``csv``); slow for big exports: use a thread."""
    return xlsx_bytes(header, rows) if fmt == "xlsx" else csv_bytes(header, rows)


async def fetch_all(db: AsyncSession, query: Select[Any]) -> list[Any]:
    """All rows of ``query`` for an export, read in partitions of :data:`CHUNK` with the
    event loop let through in between (building 100,000 rows at once stalls it)."""
    out: list[Any] = []
    result = await db.stream(query.execution_options(yield_per=CHUNK))
    async for part in result.partitions():
        out.extend(part)
        await asyncio.sleep(0)
    return out


async def download(
    fmt: str, name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> web.Response:
    """A file download of ``rows`` in ``fmt`` (``xlsx`` or ``csv``), built in a thread.

    ``rows`` may be a generator: it is consumed in the thread too, so it must not touch
    the database (rows already loaded are fine).
    """
    body = await asyncio.to_thread(file_bytes, fmt, header, rows)
    if fmt == "xlsx":
        kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        kind = "text/csv"
    filename = quote(f"{name}.{fmt}")
    return web.Response(
        body=body,
        content_type=kind,
        charset="utf-8" if fmt == "csv" else None,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"},
    )
