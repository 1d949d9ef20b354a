"""Regions from a spreadsheet (the statistics bureau's list): code, name, parent code.

Columns: 代码 (or 区划代码, 统计用区划代码), 名称 (or 区划名称), 上级代码 (empty for the
root). Every row is checked before anything is written: a bad code, a duplicate code, a
parent that is neither in the file nor in the database, a cycle of parents, a level that
does not fit under its parent. With any error nothing is written and the report names
each bad row; otherwise new codes are created (parents first) and known codes renamed.
A code already in the database under another parent is an error (moves are made one by
one in the console, where their effect is seen).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.errors import UserError
from pusher.models import Region
from pusher.town.codes import check_under, kind_of_code
from pusher.town.regions import RegionIn, clean_name, create_region, rename_region

CODE = ("代码", "区划代码", "统计用区划代码", "code")
NAME = ("名称", "区划名称", "name")
PARENT = ("上级代码", "上级区划代码", "parent_code")
MAX_ROWS = 5_000


@dataclass
class RegionRow:
    row: int  # as the spreadsheet numbers it (header is row 1)
    code: str
    name: str
    parent_code: str


@dataclass
class RegionReport:
    total: int = 0
    created: int = 0
    renamed: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # row, code, reason
    unknown_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_json(self) -> dict[str, object]:
        return {
            "total": self.total,
            "created": self.created,
            "renamed": self.renamed,
            "unchanged": self.unchanged,
            "unknown_columns": self.unknown_columns,
            "errors": [{"row": r, "code": c, "reason": why} for r, c, why in self.errors],
        }


def _pick(row: Mapping[str, str], names: tuple[str, ...]) -> str:
    for name in names:
        if name in row:
            return str(row[name] or "").strip()
    return ""


def parse_rows(raw: list[dict[str, str]]) -> tuple[list[RegionRow], list[str]]:
    """Rows keyed by header → region rows, and the headers that were not understood."""
    known = set(CODE + NAME + PARENT)
    unknown = sorted({h for r in raw[:1] for h in r if h and h not in known})
    rows = [
        RegionRow(n, _pick(r, CODE), _pick(r, NAME), _pick(r, PARENT))
        for n, r in enumerate(raw, start=2)
    ]
    return rows, unknown


def _cycles(rows: list[RegionRow]) -> set[str]:
    """Codes whose chain of parents inside the file comes back to themselves."""
    parent = {r.code: r.parent_code for r in rows if r.code}
    bad: set[str] = set()
    for start in parent:
        seen, code = {start}, parent.get(start, "")
        while code in parent:
            if code in seen:
                bad |= seen
                break
            seen.add(code)
            code = parent[code]
    return bad


@dataclass
class _Known:
    """What the database already holds, by code: (kind, parent code, name, active)."""

    regions: dict[str, tuple[str, str, str, bool]]


async def _known(session: AsyncSession) -> _Known:
    parents: dict[int, str] = dict((await session.execute(select(Region.id, Region.code))).all())
    rows = await session.execute(
        select(Region.code, Region.kind, Region.parent_id, Region.name, Region.active)
    )
    return _Known({c: (k, parents.get(p, "") if p else "", n, a) for c, k, p, n, a in rows})


def _problem(row: RegionRow, kinds: dict[str, str], known: _Known, file_codes: set[str]) -> str:
    try:
        if not row.code:
            return "缺少代码"
        clean_name(row.name)
        kind = kind_of_code(row.code)
        if row.parent_code and row.parent_code not in file_codes | set(known.regions):
            return f"上级代码「{row.parent_code[:20]}」在文件和系统中都不存在"
        parent_kind = kinds.get(row.parent_code) if row.parent_code else None
        check_under(row.code, kind, row.parent_code or None, parent_kind)
        old = known.regions.get(row.code)
        if old is not None and old[1] != row.parent_code:
            return f"代码已在系统中、上级为「{old[1] or '无'}」；调整上级请在区域页面逐个移动"
    except UserError as exc:
        return exc.message
    return ""


def check_rows(rows: list[RegionRow], known: _Known, report: RegionReport) -> None:
    """Add each bad row's reason to ``report`` (no database writes)."""
    seen: dict[str, int] = {}
    kinds = {code: kind for code, (kind, *_rest) in known.regions.items()}
    for r in rows:
        with contextlib.suppress(UserError):
            kinds[r.code] = kind_of_code(r.code)
    cycles = _cycles(rows)
    file_codes = {r.code for r in rows if r.code}
    for r in rows:
        if r.code in seen:
            report.errors.append((r.row, r.code, f"代码重复（与第 {seen[r.code]} 行相同）"))
            continue
        seen[r.code] = r.row
        why = (
            "上级关系成环（互为上级）"
            if r.code in cycles
            else _problem(r, kinds, known, file_codes)
        )
        if why:
            report.errors.append((r.row, r.code, why))


def _ordered(rows: list[RegionRow]) -> list[RegionRow]:
    """Parents before children (codes are checked acyclic before this)."""
    by_code = {r.code: r for r in rows}

    def depth(r: RegionRow) -> int:
        n, code = 0, r.parent_code
        while code in by_code:
            n, code = n + 1, by_code[code].parent_code
        return n

    return sorted(rows, key=depth)


async def import_regions(session: AsyncSession, raw: list[dict[str, str]]) -> RegionReport:
    """Check every row, then write all of them or (with any error) none."""
    rows, unknown = parse_rows(raw)
    report = RegionReport(total=len(rows), unknown_columns=unknown)
    if len(rows) > MAX_ROWS:
        report.errors.append((MAX_ROWS + 2, "", f"超过 {MAX_ROWS} 行，请拆分后分批导入"))
        return report
    known = await _known(session)
    check_rows(rows, known, report)
    if not report.ok:
        return report
    for r in _ordered(rows):
        old = known.regions.get(r.code)
        if old is None:
            await create_region(session, RegionIn(r.name, r.code, r.parent_code or None))
            report.created += 1
        elif old[2] != clean_name(r.name):
            region = await session.scalar(select(Region).where(Region.code == r.code))
            assert region is not None
            await rename_region(session, region, r.name)
            report.renamed += 1
        else:
            report.unchanged += 1
    return report
