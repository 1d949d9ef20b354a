"""The monthly report against a generated November: every count comes from the lists the
month was built from (tests/reports/month.py), on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from pusher.reports.monthly import Monthly, monthly
from pusher.reports.period import month, year
from pusher.reports.yearly import yearly
from pusher.runtime.resources import open_resources
from pusher.settings import Settings
from pusher.workdays import WorkCalendar
from tests.reports.month import (
    B_HOURS_TO_90,
    DELIVERIES,
    ITEMS,
    MESSAGES,
    OPENS,
    REGIONS,
    build_month,
)

IN_MONTH = {"A", "B", "C"}  # approved and pushed in November (see month.py)
BUCKET = {"delivered": 0, "sent": 1, "failed": 2, "unreachable": 3, "confirmed": 4,
          "queued": 5, "sending": 5}  # fmt: skip
NAMES = {code: name for code, name, _, _ in REGIONS}


@pytest.fixture
async def built(any_settings: Settings) -> Settings:
    await build_month(any_settings)
    return any_settings


@pytest.fixture
async def report(built: Settings) -> Monthly:
    async with open_resources(built) as r, r.db() as db:
        return await monthly(db, month("2026-11"), WorkCalendar.national())


def _expected(key_of: Any) -> dict[str, list[int]]:
    """[messages, buckets…] per key, counted from the month's delivery lists."""
    out: dict[str, list[int]] = {}
    for item, rows in DELIVERIES.items():
        if item not in IN_MONTH:
            continue
        for grid, channel, status, count in rows:
            line = out.setdefault(key_of(grid, channel), [0] * 7)
            line[0] += count
            line[1 + BUCKET[status]] += count
    return out


def _as_dict(rows: list[list[Any]]) -> dict[str, list[int]]:
    return {row[0]: row[1:] for row in rows}


async def test_reach_by_village_grid_and_channel(report: Monthly) -> None:
    village = _expected(lambda grid, _: NAMES[grid[:9]])
    assert _as_dict(report.table("village").rows) == village
    assert village["东村"] == [10, 7, 0, 1, 1, 0, 1]  # by hand: A 8 + C 2
    assert _as_dict(report.table("grid").rows) == _expected(lambda grid, _: NAMES[grid])
    channel = _expected(lambda _, channel: channel)
    names = {"wechat": "公众号", "sms": "短信", "wecom": "企业微信群"}
    assert _as_dict(report.table("channel").rows) == {names[k]: v for k, v in channel.items()}


async def test_items_by_domain_and_publisher(report: Monthly) -> None:
    mine = [s for s in ITEMS if s.key in IN_MONTH]
    domains = Counter(s.domain or "未分类" for s in mine)
    assert dict((name, n) for name, n in report.table("domain").rows) == domains
    publishers = Counter(s.publisher for s in mine)
    assert dict((name, n) for name, n in report.table("publisher").rows) == publishers
    assert report.summary["items"] == 3 and report.summary["pushes"] == 3


async def test_pushes_opens_weeks_and_the_ninety_percent_clock(report: Monthly) -> None:
    messages = sum(c for k in IN_MONTH for *_, c in DELIVERIES[k])
    assert report.summary["messages"] == messages == 22
    hours = {row[1][0]: row[-1] for row in report.table("push").rows}
    assert hours == {"A": "", "B": B_HOURS_TO_90, "C": ""}  # A and C never reach 90%
    opens: Counter[str] = Counter()
    for _, code, day, n in OPENS:
        if day.startswith("2026-11"):
            opens[NAMES.get(code, "未注明村")] += n
    assert dict((name, n) for name, n in report.table("opens").rows) == opens
    weeks = {row[0]: row[1] for row in report.table("week").rows}
    # 1 Nov 2026 is a Sunday: A and B (3 and 5 Nov) fall in the second week, C (20 Nov) the 4th
    assert weeks == {"11-01–11-01": 0, "11-02–11-08": 20, "11-09–11-15": 0,
                     "11-16–11-22": 2, "11-23–11-29": 0, "11-30–11-30": 0}  # fmt: skip
    # reached = delivered + sent + told in person: 东村 A 6 + C 1; 西村 B 10 + A 1 + A 1
    assert report.villages == [("东村", 7, 10), ("西村", 12, 12)]


async def test_disclosure_on_time_and_late(report: Monthly) -> None:
    rows = {row[1][0]: row for row in report.table("clock").rows}
    assert rows["A"][4:] == ["2026-11-04", "2026-11-03", "按时"]
    assert rows["B"][4:] == ["2026-10-29", "2026-11-05", "超期"]
    assert rows["C"][2] == "2026-11-19" and rows["C"][-1] == "按时"
    assert set(rows) == IN_MONTH
    assert (report.summary["on_time"], report.summary["late"]) == (2, 1)


def _replies(first: str, last: str) -> dict[str, list[int]]:
    """Messages received between two Beijing days, by channel, from the month's list."""
    names = {"sms": "短信", "wechat": "公众号"}
    out: dict[str, list[int]] = {}
    for channel, at, answered, closed, urgent in MESSAGES:
        if first <= at[:10] <= last:
            line = out.setdefault(names[channel], [0, 0, 0, 0])
            for n, flag in enumerate((True, answered, closed, urgent)):
                line[n] += flag
    return out


async def test_replies_received_and_answered(report: Monthly) -> None:
    assert _as_dict(report.table("replies").rows) == _replies("2026-11-01", "2026-11-30")
    assert _as_dict(report.table("replies").rows)["短信"] == [2, 2, 1, 1]  # by hand


async def test_yearly_figures(built: Settings) -> None:
    async with open_resources(built) as r, r.db() as db:
        tables = {t.key: t for t in await yearly(db, year("2026"))}
    approved = [s for s in ITEMS if s.approved and s.disclosure == "主动公开"]
    domains = Counter(s.domain or "未分类" for s in approved)
    assert dict((k, n) for k, n in tables["domain"].rows) == domains
    assert "依申请公开" not in {s.disclosure for s in approved} and len(approved) == 4
    # every approval chose 公众号、短信 (H, disclosed on request, was reviewed too)
    reviewed = sum(1 for s in ITEMS if s.approved)
    assert dict((k, n) for k, n in tables["forms"].rows) == {"公众号": reviewed, "短信": reviewed}
    messages = sum(c for rows in DELIVERIES.values() for *_, c in rows)
    assert sum(row[1] for row in tables["channel"].rows) == messages
    assert _as_dict(tables["replies"].rows) == _replies("2026-01-01", "2026-12-31")
