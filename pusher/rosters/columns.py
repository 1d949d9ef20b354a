"""The headers offices use, mapped to resident fields; one row read and checked.

Offices name the same column differently (手机号, 手机号码, 联系电话, 电话); a header
this module does not know is listed back to the uploader and ignored. Cells are bounded
(:data:`MAX_CELL`) and the formula rule of :mod:`subscriptions.importer` applies: a name,
tag or key that a spreadsheet would read as a formula is a row error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from subscriptions.importer import FORMULA_STARTS, OPENID, PHONE, TAG_SPLIT

#: canonical column → the headers that mean it (the first is what exports write)
ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "居民姓名"),
    "phone": ("手机号", "手机号码", "联系电话", "电话", "联系方式"),
    "grid": ("所属网格", "网格", "网格名称", "网格代码"),
    "key": ("身份证后四位", "身份证号后四位", "证件后四位", "居民编号", "编号", "户号"),
    "tags": ("标签", "人员类别", "类别"),
    "topics": ("订阅", "订阅栏目", "订阅主题"),
    "consent": ("同意短信", "短信同意", "接收短信"),
    "openid": ("微信", "openid"),
}
#: columns our own export writes that an upload does not change (residents opt out
#: themselves, by SMS reply or on their WeChat page)
READ_ONLY = ("短信退订", "公众号退订")
HEADER_OF = {alias: column for column, names in ALIASES.items() for alias in names}
REQUIRED = ("name", "grid")
MAX_CELL = 200
MAX_TAGS = 20
YES = frozenset({"是", "同意", "y", "yes", "1", "true", "√", "✓"})
NO = frozenset({"否", "不同意", "n", "no", "0", "false", "×"})
KEY = re.compile(r"^[0-9A-Za-z\-_/]{1,64}$")


@dataclass(frozen=True)
class Headers:
    """Which canonical column each header of the file is, and what was left out."""

    columns: dict[str, str]  # canonical → header as written in the file
    unknown: list[str]
    missing: list[str]


def read_headers(header: list[str]) -> Headers:
    """Map a file's header row; ``missing`` names required columns it lacks."""
    columns: dict[str, str] = {}
    unknown: list[str] = []
    for raw in header:
        text = raw.strip()
        column = HEADER_OF.get(text) or HEADER_OF.get(text.lower())
        if column is not None and column not in columns:
            columns[column] = raw
        elif text and column is None and text not in READ_ONLY:
            unknown.append(text)
    missing = [ALIASES[c][0] for c in REQUIRED if c not in columns]
    if "phone" not in columns and "key" not in columns:
        missing.append("手机号（或身份证后四位）")
    return Headers(columns, unknown, missing)


@dataclass
class RosterRow:
    """One checked row: its number in the file, its fields, and what is wrong with it."""

    number: int
    name: str
    phone: str | None
    grid: str
    key: str | None
    tags: list[str]
    topics: list[str] | None  # None: the file has no 订阅 column (leave them as they are)
    consent: bool | None  # None: the cell (or column) is empty: the town's default
    openid: str | None
    problems: list[str] = field(default_factory=list)


def _consent(raw: str, problems: list[str]) -> bool | None:
    value = raw.strip().lower()
    if not value:
        return None
    if value in YES:
        return True
    if value in NO:
        return False
    problems.append(f"同意短信应填“是”或“否”，不是「{raw[:20]}」")
    return None


def _formula(column: str, values: list[str], problems: list[str]) -> None:
    if any(v.startswith(FORMULA_STARTS) for v in values):
        problems.append(f"{column}不能以 = + - @ 开头（表格会把它当作公式）")


def _split(raw: str) -> list[str]:
    return list(dict.fromkeys(t for t in TAG_SPLIT.split(raw) if t))


def read_row(number: int, cells: Mapping[str, str], headers: Headers) -> RosterRow:
    """The row as fields, with its problems (empty when it may be applied)."""
    get = {c: str(cells.get(h, "") or "").strip() for c, h in headers.columns.items()}
    problems: list[str] = []
    long = [ALIASES[c][0] for c, v in get.items() if len(v) > MAX_CELL]
    if long:
        problems.append(f"{'、'.join(long)}超过 {MAX_CELL} 字")
        get = {c: v[:MAX_CELL] for c, v in get.items()}
    row = RosterRow(
        number=number,
        name=get.get("name", ""),
        phone=get.get("phone") or None,
        grid=get.get("grid", ""),
        key=get.get("key") or None,
        tags=_split(get.get("tags", "")),
        topics=_split(get["topics"]) if "topics" in get else None,
        consent=_consent(get.get("consent", ""), problems),
        openid=None,
        problems=problems,
    )
    _check(row, get.get("openid", ""))
    return row


def _check(row: RosterRow, openid: str) -> None:
    problems = row.problems
    if not row.name:
        problems.append("姓名为空")
    elif len(row.name) > 64:
        problems.append("姓名超过 64 字")
    if row.phone is not None and not PHONE.match(row.phone):
        problems.append(f"手机号「{row.phone}」不是有效的大陆手机号")
    if row.phone is None and row.key is None:
        problems.append("手机号为空")
    if row.key is not None and not KEY.match(row.key):
        problems.append("身份证后四位（编号）只能是字母、数字和 - _ /")
    if len(row.tags) > MAX_TAGS or any(len(t) > 32 for t in row.tags):
        problems.append(f"标签最多 {MAX_TAGS} 个，每个不超过 32 字")
    _formula("姓名", [row.name], problems)
    _formula("标签", row.tags, problems)
    _formula("订阅", row.topics or [], problems)
    if openid and OPENID.match(openid):
        row.openid = openid
    elif openid and openid not in ("是", "否", "有", "无"):
        problems.append("微信一栏应填写公众号 openid，或留空")
