"""Report times in SMS callbacks: read fast where padded, as ``strptime`` reads them."""

from __future__ import annotations

from datetime import datetime

import pytest

from channels.sms import BEIJING, beijing_time

VALUES = [
    "2026-12-07 12:00:01",
    "2024-02-29 23:59:59",
    "2026-02-30 00:00:00",  # no such day
    "2026-12-07 24:00:00",
    "2026-2-7 1:2:3",  # unpadded: strptime takes it, so do we
    "2026-12-07T12:00:01",  # ISO with a T: not the providers' form
    "2026-12-07 12:00:01+08:00",
    "2026-12-07",
    "20261207 120001",
    "",
    "x",
    "２０２６-12-07 12:00:01",  # full-width digits
]


def _strptime(value: str) -> datetime | None:
    """The reference: the format the providers document, read by ``strptime``."""
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
    except ValueError:
        return None


@pytest.mark.parametrize("value", VALUES)
def test_a_report_time_reads_as_strptime_reads_it(value: str) -> None:
    assert beijing_time(value) == _strptime(value)


def test_a_missing_report_time_is_none() -> None:
    assert beijing_time(None) is None
