"""Stored UTC times shown as Beijing time, on console pages and residents' pages alike."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Shanghai")


def localtime(stamp: datetime | None) -> str:
    """A stored UTC time as Beijing time, e.g. 2026-05-01 09:30."""
    return stamp.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M") if stamp else ""


def localdate(stamp: datetime | None) -> str:
    """A stored UTC time's Beijing date, e.g. 2026-05-01."""
    return stamp.astimezone(LOCAL).strftime("%Y-%m-%d") if stamp else ""
