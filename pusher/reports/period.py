"""A reporting period: whole days in Beijing time, from a month, a range or a year."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pusher.errors import InvalidInput

LOCAL = ZoneInfo("Asia/Shanghai")
#: a longer range would scan years of deliveries for one page
MAX_DAYS = 400
FIRST_YEAR, LAST_YEAR = 2000, 2100


@dataclass(frozen=True)
class Period:
    """Days ``first``..``last`` (both included), Beijing time."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        """The first instant, as an aware UTC time (stored times are UTC)."""
        return datetime.combine(self.first, time(), LOCAL).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The instant after the last day (exclusive bound)."""
        return datetime.combine(self.last + timedelta(days=1), time(), LOCAL).astimezone(UTC)

    @property
    def label(self) -> str:
        if self.first.day == 1 and self.last == _month_end(self.first):
            return f"{self.first.year}年{self.first.month}月"
        return f"{self.first.isoformat()} 至 {self.last.isoformat()}"

    def weeks(self) -> list[tuple[date, date]]:
        """The period cut into weeks starting on Mondays (the first and last may be short)."""
        out, day = [], self.first
        while day <= self.last:
            end = min(day + timedelta(days=6 - day.weekday()), self.last)
            out.append((day, end))
            day = end + timedelta(days=1)
        return out

    def query(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def _month_end(first: date) -> date:
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def parse_day(text: str, name: str) -> date:
    """A ``YYYY-MM-DD`` query value; :class:`InvalidInput` (422, in Chinese) otherwise."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        wrong = f"日期「{text[:20]}」格式不对，请写成 2026-11-01。"
        raise InvalidInput(wrong, field=name) from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise InvalidInput(f"日期须在 {FIRST_YEAR}–{LAST_YEAR} 年之间。", field=name)
    return day


def month(text: str) -> Period:
    """``2026-11`` → 1–30 November 2026."""
    year, _, num = text.strip().partition("-")
    if not (year.isdigit() and num.isdigit() and len(year) == 4 and 1 <= int(num) <= 12):
        raise InvalidInput(f"月份「{text[:20]}」格式不对，请写成 2026-11。", field="month")
    first = parse_day(f"{year}-{int(num):02d}-01", "month")
    return Period(first, _month_end(first))


def year(text: str) -> Period:
    if not (text.strip().isdigit() and FIRST_YEAR <= int(text) <= LAST_YEAR):
        raise InvalidInput(f"年份须是 {FIRST_YEAR}–{LAST_YEAR} 之间的数字。", field="year")
    return Period(date(int(text), 1, 1), date(int(text), 12, 31))


def from_query(query: Mapping[str, str], *, today: date) -> Period:
    """``?month=2026-11``, or ``?from=…&to=…`` (either may be left out), or this month."""
    if query.get("from") or query.get("to"):
        last = parse_day(query["to"], "to") if query.get("to") else today
        first = parse_day(query["from"], "from") if query.get("from") else last.replace(day=1)
        if last < first:
            raise InvalidInput("结束日期不能早于开始日期。", field="to")
        if (last - first).days >= MAX_DAYS:
            raise InvalidInput(f"查询范围最长 {MAX_DAYS} 天，请缩短。", field="to")
        return Period(first, last)
    if query.get("month"):
        return month(query["month"])
    first = today.replace(day=1)
    return Period(first, _month_end(first))


def range_of(query: Mapping[str, str], *, today: date) -> Period | None:
    """``?from=&to=`` as a period (either may be left out); None when neither is given."""
    if not (query.get("from") or query.get("to")):
        return None
    return from_query(query, today=today)


def today_local() -> date:
    return datetime.now(LOCAL).date()
