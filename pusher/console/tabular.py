"""Writing rows as an .xlsx or a .csv download (CSV with a BOM so Excel reads Chinese)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from aiohttp import web
from openpyxl import Workbook


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def download(fmt: str, name: str, header: Sequence[str], rows: list[Sequence[Any]]) -> web.Response:
    """A file download of ``rows`` in ``fmt`` (``xlsx`` or ``csv``)."""
    if fmt == "xlsx":
        body = xlsx_bytes(header, rows)
        kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body = csv_bytes(header, rows)
        kind = "text/csv; charset=utf-8"
    filename = quote(f"{name}.{fmt}")
    return web.Response(
        body=body,
        content_type=kind.split(";")[0],
        charset="utf-8" if fmt == "csv" else None,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"},
    )
