"""Reading residents' spreadsheets (.xlsx or CSV) into rows, and the rules every roster
cell follows (phone, openid, tag separators, formula starts).

The roster logic (headers, matching, the report, applying) is in ``pusher/rosters/``.

Uploads are hostile until read: :func:`read_rows` refuses (:class:`FileRefused`) a file
over :data:`MAX_FILE_BYTES`, an .xlsx whose archive would unpack to more than
:data:`MAX_UNPACKED_BYTES` or packs a member more tightly than :data:`MAX_RATIO` (a zip
bomb), and a sheet of more than :data:`MAX_ROWS` rows, and it streams rows so memory stays
bounded. Call it in a thread. A name or tag a spreadsheet would read as a formula
(``=HYPERLINK(…)``) is a row error: no real name starts with ``=``, and storing it with a
``'`` in front would send that ``'`` in every message to the resident.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from pusher.errors import TooLarge

PHONE = re.compile(r"^1[3-9]\d{9}$")
OPENID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
TAG_SPLIT = re.compile(r"[、,，;；\s]+")
# OWASP "CSV injection": a leading = + - @ starts a formula; tab and CR can hide one.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_UNPACKED_BYTES = 20 * 1024 * 1024
MAX_RATIO = 100  # a real sheet packs 5-30 times; a bomb a thousand
MAX_ROWS = 20_000
MAX_COLUMNS = 20


class FileRefused(TooLarge, ValueError):
    """An upload refused before it is read (too big, too many rows, a zip bomb)."""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel keeps phone numbers typed as numbers as floats
    return str(value).strip()


def _rows(header: list[str], body: Iterable[Iterable[Any]]) -> list[dict[str, str]]:
    names = [_cell(h) for h in header]
    return [dict(zip(names, (_cell(v) for v in values), strict=False)) for values in body]


def read_rows(data: bytes, filename: str) -> list[dict[str, str]]:
    """Parse an uploaded .xlsx or .csv (UTF-8 or GBK) into rows keyed by header.

    Raises :class:`FileRefused` for a file too big to read safely; slow: call in a thread.
    """
    if len(data) > MAX_FILE_BYTES:
        raise FileRefused(f"文件超过 {MAX_FILE_BYTES // 1024 // 1024} MB，请拆分后分批导入。")
    if filename.lower().endswith(".xlsx"):
        values = _xlsx_values(data)
    else:
        values = _bounded(csv.reader(io.StringIO(_decode(data))))
    if not values:
        return []
    return _rows(values[0], values[1:])


def read_file(path: Path) -> list[dict[str, str]]:
    """:func:`read_rows` of a file on disk, refused before reading when it is too big."""
    with path.open("rb") as f:
        return read_rows(f.read(MAX_FILE_BYTES + 1), path.name)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gbk", errors="replace")


def _bounded(rows: Iterable[Iterable[Any]]) -> list[list[Any]]:
    """The non-blank rows (first :data:`MAX_COLUMNS` cells), refused past :data:`MAX_ROWS`."""
    out: list[list[Any]] = []
    for row in rows:
        cells = list(row)[:MAX_COLUMNS]
        if not any(_cell(c) for c in cells):
            continue
        if len(out) > MAX_ROWS:  # the header plus MAX_ROWS residents
            raise FileRefused(f"文件超过 {MAX_ROWS} 行，请拆分后分批导入。")
        out.append(cells)
    return out


def _check_archive(data: bytes) -> None:
    """Refuse an .xlsx whose members would unpack too big or are packed like a bomb."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise ValueError("not an xlsx archive") from exc
    if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
        raise FileRefused("文件解压后过大（可能是压缩炸弹），请检查文件或拆分后分批导入。")
    for m in members:
        if m.file_size > 1024 * 1024 and m.file_size > MAX_RATIO * max(m.compress_size, 1):
            raise FileRefused("文件压缩比异常（可能是压缩炸弹），请另存为普通的 .xlsx 后再导入。")


def _xlsx_values(data: bytes) -> list[list[Any]]:
    _check_archive(data)
    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        rows: Iterator[Iterable[Any]] = sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS)
        return _bounded(rows)
    finally:
        book.close()
