"""The county bench's split of CPU between SMS recipients, WeChat messages and planning
(``bench/cpumeter.py``), on a push made up with known costs: the split must find them."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from cpumeter import Counts, attribute

PLAN, SMS, WECHAT = 20e-6, 40e-6, 200e-6  # CPU seconds per row planned / message sent


def _push(planned_at: float) -> tuple[Counts, Callable[[float], float]]:
    """1,000,000 rows planned evenly over ``planned_at`` seconds from approval (t=0);
    350,000 SMS evenly over 0–20 s; 600,000 WeChat messages evenly over 0–150 s."""
    rows, sms, wechat = 1_000_000, 350_000, 600_000
    sms_end, wechat_end = 20.0, 150.0

    def done(t: float, n: int, end: float) -> float:
        return n * min(max(t, 0.0), end) / end

    def cpu_at(t: float) -> float:
        return (
            done(t, rows, planned_at) * PLAN
            + done(t, sms, sms_end) * SMS
            + done(t, wechat, wechat_end) * WECHAT
        )

    counts = Counts(
        sms=sms,
        sms_while_planning=round(done(planned_at, sms, sms_end)),
        wechat=wechat,
        wechat_while_planning=round(done(planned_at, wechat, wechat_end)),
        wechat_before_last_sms=round(done(sms_end, wechat, wechat_end)),
    )
    return counts, cpu_at


def test_each_message_carries_its_send_and_its_share_of_planning() -> None:
    counts, cpu_at = _push(planned_at=8.0)
    got = attribute(cpu_at, 0.0, 8.0, 20.0, 150.0, counts)
    share = PLAN * 1_000_000 / 950_000  # unreachable residents' rows shared out too
    assert got["us_planning_per_message"] == pytest.approx(share * 1e6, abs=0.2)
    assert got["us_per_sms"] == pytest.approx((SMS + share) * 1e6, abs=0.2)
    assert got["us_per_wechat"] == pytest.approx((WECHAT + share) * 1e6, abs=0.2)
    every_row = PLAN * 1_000_000 / 350_000  # the upper bound: all planning on the SMS
    assert got["us_per_sms_all_planning"] == pytest.approx((SMS + every_row) * 1e6, abs=0.2)


def test_without_a_window_after_planning_the_sms_part_carries_all_of_it() -> None:
    counts, cpu_at = _push(planned_at=19.0)
    got = attribute(cpu_at, 0.0, 19.0, 20.0, 150.0, counts)
    assert got["us_planning_per_message"] is None
    assert got["us_per_wechat"] == pytest.approx(WECHAT * 1e6, abs=0.2)
    every_row = PLAN * 1_000_000 / 350_000
    assert got["us_per_sms"] == pytest.approx((SMS + every_row) * 1e6, abs=0.2)
