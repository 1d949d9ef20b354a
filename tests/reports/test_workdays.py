"""Working days across the Spring Festival and National Day, from the official notices.

Expectations are counted by hand from the State Council's notice on the 2025 holidays
(国办发明电〔2024〕12号): 春节 1月28日至2月4日放假调休，共8天，1月26日（周日）、2月8日
（周六）上班; 国庆节、中秋节 10月1日至8日放假调休，共8天，9月28日（周日）、10月11日
（周六）上班. And the 2026 notice: 春节 2月15日至23日放假调休，2月14日（周六）、2月28日
（周六）上班; 国庆节 10月1日至7日放假调休，9月20日（周日）、10月10日（周六）上班.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from pusher.settings import Settings
from pusher.workdays import CalendarUnknown, WorkCalendar

CAL = WorkCalendar.national()
MAKE_UP = [date(2025, 1, 26), date(2025, 2, 8), date(2025, 9, 28), date(2025, 10, 11),
           date(2026, 2, 14), date(2026, 2, 28), date(2026, 9, 20), date(2026, 10, 10)]  # fmt: skip


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


OFF = [
    *_days(date(2025, 1, 28), date(2025, 2, 4)),
    *_days(date(2025, 10, 1), date(2025, 10, 8)),
    *_days(date(2026, 2, 15), date(2026, 2, 23)),
    *_days(date(2026, 10, 1), date(2026, 10, 7)),
]


@pytest.mark.parametrize("day", MAKE_UP, ids=str)
def test_make_up_weekend_days_are_working_days(day: date) -> None:
    assert day.weekday() >= 5 and CAL.is_workday(day)


@pytest.mark.parametrize("day", OFF, ids=str)
def test_festival_days_are_off_even_on_weekdays(day: date) -> None:
    assert not CAL.is_workday(day)


def test_ordinary_days() -> None:
    assert CAL.is_workday(date(2025, 2, 5))  # the first day back, a Wednesday
    assert not CAL.is_workday(date(2025, 3, 8))  # an ordinary Saturday


def test_twenty_working_days_across_the_spring_festival() -> None:
    # after Mon 20 Jan 2025: 21–24 Jan (4), Sun 26 Jan (5), 27 Jan (6), holiday, 5–7 Feb (9),
    # Sat 8 Feb (10), 10–14 Feb (15), 17–21 Feb (20). Monday to Friday alone: 17 Feb.
    assert CAL.add(date(2025, 1, 20), 20) == date(2025, 2, 21)
    assert CAL.add(date(2025, 1, 24), 1) == date(2025, 1, 26)
    assert CAL.add(date(2025, 1, 24), 3) == date(2025, 2, 5)
    assert CAL.between(date(2025, 1, 24), date(2025, 2, 5)) == 3
    assert CAL.between(date(2025, 2, 5), date(2025, 1, 24)) == -3


def test_twenty_working_days_across_national_day() -> None:
    # after Fri 26 Sep 2025: Sun 28 Sep (1), 29–30 Sep (3), holiday 1–8 Oct, 9–10 Oct (5),
    # Sat 11 Oct (6), 13–17 (11), 20–24 (16), 27–30 Oct (20)
    assert CAL.add(date(2025, 9, 26), 20) == date(2025, 10, 30)
    assert CAL.between(date(2025, 9, 26), date(2025, 10, 30)) == 20


def test_ten_working_days_across_the_2026_spring_festival() -> None:
    # after Thu 12 Feb 2026: 13 Feb (1), Sat 14 Feb (2), holiday 15–23 Feb, 24–27 Feb (6),
    # Sat 28 Feb (7), 2–4 Mar (10)
    assert CAL.add(date(2026, 2, 12), 10) == date(2026, 3, 4)


def test_a_year_beyond_the_calendar_is_a_clear_error() -> None:
    last = CAL.last_year
    with pytest.raises(CalendarUnknown) as caught:
        CAL.add(date(last, 12, 20), 20)
    assert f"{last + 1}年的法定节假日安排尚未收录" in caught.value.message
    assert caught.value.status == 422
    with pytest.raises(CalendarUnknown):
        CAL.is_workday(date(CAL.first_year - 1, 6, 1))


def test_local_rest_and_working_days() -> None:
    local = WorkCalendar.national(local_holidays=[date(2025, 2, 5)])
    assert local.add(date(2025, 1, 24), 3) == date(2025, 2, 6)
    extra = WorkCalendar.national(local_workdays=[date(2025, 2, 1)])  # a Saturday in the holiday
    assert extra.add(date(2025, 1, 24), 3) == date(2025, 2, 1)


def test_local_days_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUSHER_LOCAL_HOLIDAYS", '["2025-02-05"]')
    monkeypatch.setenv("PUSHER_LOCAL_WORKDAYS", '["2025-02-01", "2025-02-02"]')
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.local_holidays == [date(2025, 2, 5)]
    assert settings.local_workdays == [date(2025, 2, 1), date(2025, 2, 2)]
