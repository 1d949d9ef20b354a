"""The demo's own check, at any hour: quiet hours hold normal items, and it says so; and
it fails when matching, planning or dispatch reach other residents than the town was
built to reach."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import Accepted, Message, Outcome
from channels.sandbox import SandboxChannel
from pusher.demo.run import run_demo
from pusher.models import Group, Item
from pusher.pipeline import match, plan
from pusher.settings import QuietHours, Settings


def _table(text: str) -> list[str]:
    return [
        line for line in text.splitlines() if line.rstrip().endswith(("正确", "不符", "后发送"))
    ]


async def test_the_demo_check_passes_by_day_with_everything_sent(sqlite_settings: Settings) -> None:
    out = io.StringIO()
    ok, tokens = await run_demo(sqlite_settings, out=out)
    rows = _table(out.getvalue())
    assert ok and set(tokens) == {"admin", "publisher", "reviewer", "leader", "grid"}
    assert rows and all(row.rstrip().endswith("正确") for row in rows)
    assert "免打扰" not in out.getvalue()


async def test_the_demo_check_passes_in_quiet_hours_with_normal_items_held(
    sqlite_settings: Settings,
) -> None:
    hour = datetime.now(ZoneInfo("Asia/Shanghai")).hour
    quiet = QuietHours(start=hour, end=(hour + 2) % 24)  # now is inside, whatever the hour
    settings = sqlite_settings.model_copy(update={"quiet_hours": quiet})
    out = io.StringIO()
    ok, _ = await run_demo(settings, out=out)
    text = out.getvalue()
    rows = _table(text)
    assert ok, text
    assert f"留到 {quiet.end:02d}:00 再发" in text
    held = [row for row in rows if row.rstrip().endswith("后发送")]
    urgent = [row for row in rows if "预警" in row]
    assert held and urgent and not any("后发送" in row for row in urgent), text
    assert "重复 0 条" in text


# Each break below makes the pipeline reach other people than the demo town was built
# to reach; the check must then fail, whatever its own reading of the pipeline says.


def _match_nothing(mp: pytest.MonkeyPatch) -> None:
    async def nothing(session: AsyncSession, item: Item, **_: Any) -> tuple[list[str], Any]:
        return [], {}

    mp.setattr(match, "find_matches", nothing)


def _match_everything(mp: pytest.MonkeyPatch) -> None:
    original = match.find_matches

    async def everything(session: AsyncSession, item: Item, **kw: Any) -> tuple[list[str], Any]:
        domains, reasons = await original(session, item, **kw)
        for group_id in await session.scalars(select(Group.id)):
            reasons.setdefault(group_id, [{"kind": "rule", "rule": "broken"}])
        return domains, reasons

    mp.setattr(match, "find_matches", everything)


def _plan_no_rows(mp: pytest.MonkeyPatch) -> None:
    async def nothing(*_: Any, **__: Any) -> None:
        return None

    mp.setattr(plan, "_insert_chunk", nothing)


def _plan_misses_some(mp: pytest.MonkeyPatch) -> None:
    original = plan.residents_chunk

    def fewer(audience: Any, **kw: Any) -> Any:
        return original(audience, **kw).where(text("resident.id % 97 != 0"))

    mp.setattr(plan, "residents_chunk", fewer)


def _sandbox_drops(mp: pytest.MonkeyPatch) -> None:
    async def send(self: SandboxChannel, messages: Sequence[Message]) -> list[Outcome]:
        return [Accepted(m.key, f"lost-{m.key}") for m in messages]

    mp.setattr(SandboxChannel, "send", send)


BREAKS = {
    "matching finds no group": _match_nothing,
    "matching finds every group": _match_everything,
    "planning writes no rows": _plan_no_rows,
    "planning misses a few residents": _plan_misses_some,
    "the sandbox channel drops messages": _sandbox_drops,
}


#: every break by day; in quiet hours (normal items held, rows waiting) the subtle ones
CASES = [(name, False) for name in BREAKS]
CASES += [("matching finds no group", True), ("planning misses a few residents", True)]


@pytest.mark.parametrize(("name", "quiet"), CASES, ids=[f"{n}, quiet={q}" for n, q in CASES])
async def test_the_demo_check_fails_when_the_pipeline_is_broken(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch, name: str, quiet: bool
) -> None:
    if quiet:
        hour = datetime.now(ZoneInfo("Asia/Shanghai")).hour
        hours = QuietHours(start=hour, end=(hour + 2) % 24)
        sqlite_settings = sqlite_settings.model_copy(update={"quiet_hours": hours})
    BREAKS[name](monkeypatch)
    out = io.StringIO()
    ok, _ = await run_demo(sqlite_settings, out=out)
    assert not ok, out.getvalue()
    assert any(row.rstrip().endswith("不符") for row in _table(out.getvalue())), out.getvalue()
