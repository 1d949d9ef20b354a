"""Importing residents from Excel (.xlsx) or CSV with a row-by-row report.

Columns: 姓名, 手机号, 所属网格 (grid name or code), 微信 (openid, optional), 标签 (optional,
separated by 、 , ；). A file with any bad row imports nothing: the report names each bad
row and why, so the grid worker fixes the file and imports it again.

Uploads are hostile until read: :func:`read_rows` refuses (:class:`FileRefused`) a file
over :data:`MAX_FILE_BYTES`, an .xlsx whose archive would unpack to more than
:data:`MAX_UNPACKED_BYTES` or packs a member more tightly than :data:`MAX_RATIO` (a zip
bomb), and a sheet of more than :data:`MAX_ROWS` rows, and it streams rows so memory stays
bounded. Call it in a thread. A name or tag a spreadsheet would read as a formula
(``=HYPERLINK(…)``) is a row error: no real name starts with ``=``, and storing it with a
``'`` in front would send that ``'`` in every message to the resident.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.audit import record
from pusher.errors import TooLarge
from pusher.models import Region, RegionKind, Resident, ResidentTag

COLUMNS = ("姓名", "手机号", "所属网格", "微信", "标签")
PHONE = re.compile(r"^1[3-9]\d{9}$")
OPENID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
TAG_SPLIT = re.compile(r"[、,，;；\s]+")
Row = Mapping[str, Any]
# OWASP "CSV injection": a leading = + - @ starts a formula; tab and CR can hide one.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_UNPACKED_BYTES = 20 * 1024 * 1024
MAX_RATIO = 100  # a real sheet packs 5-30 times; a bomb a thousand
MAX_ROWS = 20_000
MAX_COLUMNS = 20
ERRORS_SHOWN = 100


class FileRefused(TooLarge, ValueError):
    """An upload refused before it is read (too big, too many rows, a zip bomb)."""


@dataclass
class RowError:
    row: int  # as the spreadsheet numbers it (header is row 1)
    name: str
    reason: str


@dataclass
class ImportReport:
    """What an import found: rows read, rows imported (0 when refused), and each problem."""

    total: int = 0
    imported: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def shown(self) -> list[RowError]:
        """The errors a page lists (the first :data:`ERRORS_SHOWN`)."""
        return self.errors[:ERRORS_SHOWN]

    @property
    def hidden(self) -> int:
        """How many errors :attr:`shown` leaves out."""
        return max(0, len(self.errors) - ERRORS_SHOWN)


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


async def _grids(session: AsyncSession) -> tuple[dict[str, int], dict[str, list[int]]]:
    rows = await session.execute(
        select(Region.id, Region.code, Region.name).where(Region.kind == RegionKind.GRID)
    )
    by_code: dict[str, int] = {}
    by_name: dict[str, list[int]] = {}
    for rid, code, name in rows:
        by_code[code] = rid
        by_name.setdefault(name, []).append(rid)
    return by_code, by_name


@dataclass
class _Checker:
    by_code: dict[str, int]
    by_name: dict[str, list[int]]
    known_phones: set[str]
    allowed: frozenset[int] | set[int] | None
    seen: dict[str, int] = field(default_factory=dict)

    def grid(self, raw: str) -> tuple[int | None, str | None]:
        if raw in self.by_code:
            rid = self.by_code[raw]
        elif len(self.by_name.get(raw, [])) == 1:
            rid = self.by_name[raw][0]
        elif raw in self.by_name:
            return None, f"网格名称「{raw}」不唯一，请填写网格代码"
        else:
            return None, f"找不到网格「{raw}」" if raw else "所属网格为空"
        if self.allowed is not None and rid not in self.allowed:
            return None, f"网格「{raw}」不是你负责的网格"
        return rid, None

    def problems(self, number: int, row: Row) -> list[str]:
        out: list[str] = []
        if not row.get("姓名"):
            out.append("姓名为空")
        phone = str(row.get("手机号", ""))
        if not PHONE.match(phone):
            out.append(f"手机号「{phone}」不是有效的大陆手机号" if phone else "手机号为空")
        elif phone in self.seen:
            out.append(f"手机号 {phone} 与第 {self.seen[phone]} 行重复")
        elif phone in self.known_phones:
            out.append(f"手机号 {phone} 已登记过")
        else:
            self.seen[phone] = number
        for column in ("姓名", "标签"):
            if str(row.get(column, "")).startswith(FORMULA_STARTS):
                out.append(f"{column}不能以 = + - @ 开头（表格会把它当作公式）")
        openid = str(row.get("微信", ""))
        if openid and openid not in ("是", "否", "有", "无") and not OPENID.match(openid):
            out.append("微信一栏应填写公众号 openid，或留空")
        return out


async def _check(
    session: AsyncSession, rows: list[Row], allowed: frozenset[int] | set[int] | None
) -> tuple[ImportReport, list[tuple[Row, int]]]:
    by_code, by_name = await _grids(session)
    phones = {str(r.get("手机号", "")) for r in rows}
    known = set(
        (await session.scalars(select(Resident.phone).where(Resident.phone.in_(phones)))).all()
    )
    checker = _Checker(by_code, by_name, {p for p in known if p}, allowed)
    report = ImportReport(total=len(rows))
    good: list[tuple[Row, int]] = []
    for number, row in enumerate(rows, start=2):
        problems = checker.problems(number, row)
        region_id, grid_problem = checker.grid(str(row.get("所属网格", "")))
        if grid_problem:
            problems.append(grid_problem)
        if problems:
            report.errors.append(RowError(number, str(row.get("姓名", "")), "；".join(problems)))
        elif region_id is not None:
            good.append((row, region_id))
    return report, good


def _missing_columns(rows: list[Row]) -> list[str]:
    present = set(rows[0]) if rows else set()
    return [c for c in COLUMNS[:3] if c not in present]


async def import_residents(
    session: AsyncSession,
    rows_or_path: Iterable[Row] | Path | str,
    *,
    actor: str,
    allowed_region_ids: frozenset[int] | set[int] | None = None,
) -> ImportReport:
    """Check every row, then import all of them, or none when any row is bad.

    The caller owns the transaction (``pusher.db.transaction``); nothing is written when
    the report has errors. ``allowed_region_ids`` limits a grid worker to their grids.
    """
    if isinstance(rows_or_path, (str, Path)):
        rows: list[Row] = await asyncio.to_thread(read_file, Path(rows_or_path))
    else:
        rows = list(rows_or_path)
    missing = _missing_columns(rows)
    if missing:
        return ImportReport(len(rows), 0, [RowError(1, "", f"缺少列：{'、'.join(missing)}")])
    report, good = await _check(session, rows, allowed_region_ids)
    if not report.ok:
        return report
    await _insert(session, good)
    report.imported = len(good)
    record(session, actor=actor, action="residents.import", detail={"rows": len(good)})
    return report


async def _insert(session: AsyncSession, good: list[tuple[Row, int]]) -> None:
    values = []
    for row, region_id in good:
        openid = str(row.get("微信", ""))
        has_openid = bool(OPENID.match(openid))
        values.append(
            {
                "name": str(row["姓名"])[:64],
                "region_id": region_id,
                "phone": str(row["手机号"]),
                "openid": openid if has_openid else None,
                "wechat_follows": has_openid,
                "sms_consent": True,
                "wechat_opt_out": False,
                "sms_opt_out": False,
            }
        )
    if not values:
        return
    result = await session.execute(
        insert(Resident).returning(Resident.id, sort_by_parameter_order=True), values
    )
    tags = [
        {"resident_id": rid, "tag": tag[:32]}
        for rid, (row, _) in zip(result.scalars(), good, strict=True)
        for tag in dict.fromkeys(t for t in TAG_SPLIT.split(str(row.get("标签", ""))) if t)
    ]
    if tags:
        await session.execute(insert(ResidentTag), tags)
