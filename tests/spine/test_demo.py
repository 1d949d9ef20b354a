"""The demo's own check, at any hour: quiet hours hold normal items, and it says so."""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

from pusher.demo.run import run_demo
from pusher.settings import QuietHours, Settings


def _table(text: str) -> list[str]:
    return [
        line for line in text.splitlines() if line.rstrip().endswith(("正确", "不符", "后发送"))
    ]


async def test_the_demo_check_passes_by_day_with_everything_sent(sqlite_settings: Settings) -> None:
    out = io.StringIO()
    ok, tokens = await run_demo(sqlite_settings, out=out)
    rows = _table(out.getvalue())
    assert ok and set(tokens) == {"admin", "publisher", "reviewer", "grid"}
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
