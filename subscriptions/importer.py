"""Importing residents from Excel (.xlsx) or CSV with a row-by-row report.

Columns: 姓名, 手机号, 所属网格 (grid name or code), 微信 (openid, optional), 标签 (optional,
separated by 、 , ；). A file with any bad row imports nothing: the report names each bad
row and why, so the grid worker fixes the file and imports it again.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.audit import record
from pusher.models import Region, RegionKind, Resident, ResidentTag

COLUMNS = ("姓名", "手机号", "所属网格", "微信", "标签")
PHONE = re.compile(r"^1[3-9]\d{9}$")
OPENID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
TAG_SPLIT = re.compile(r"[、,，;；\s]+")
Row = Mapping[str, Any]


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
    """Parse an uploaded .xlsx or .csv (UTF-8 or GBK) into rows keyed by header."""
    if filename.lower().endswith(".xlsx"):
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = book.worksheets[0]
        values = [list(r) for r in sheet.iter_rows(values_only=True)]
        book.close()
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("gbk", errors="replace")
        values = [list(r) for r in csv.reader(io.StringIO(text))]
    values = [v for v in values if any(_cell(c) for c in v)]
    if not values:
        return []
    return _rows(values[0], values[1:])


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
        path = Path(rows_or_path)
        data = await asyncio.to_thread(path.read_bytes)
        rows: list[Row] = await asyncio.to_thread(read_rows, data, path.name)
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
