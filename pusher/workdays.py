"""Working days (工作日) under the Chinese public-holiday calendar, for disclosure deadlines.

Information must be disclosed within N working days (20 by default) of being formed or
changed. A day is a working day when it is Monday to Friday and not a public holiday, or
when it is a make-up working day (调休上班, usually a Saturday or Sunday). The national
calendar comes from ``chinese-calendar`` (the State Council's yearly notices); a township
may add its own rest days and working days (``PUSHER_LOCAL_HOLIDAYS`` /
``PUSHER_LOCAL_WORKDAYS``; a local working day wins over a local rest day).

A date outside the years the calendar knows raises :class:`CalendarUnknown`: counting
such a year as Monday to Friday would silently miss its Spring Festival.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from chinese_calendar import constants as national

from pusher.errors import UserError

#: the limit a catalogue entry sets when it names none (自形成或变更之日起20个工作日内)
DEFAULT_LIMIT = 20


class CalendarUnknown(UserError):
    """A date in a year whose holiday arrangements the calendar does not know."""

    status = 422

    def __init__(self, day: date, first: int, last: int) -> None:
        super().__init__(
            f"{day.year}年的法定节假日安排尚未收录（节假日日历只包含 {first}–{last} 年），"
            f"无法计算 {day.isoformat()} 前后的工作日。请升级节假日日历后再试。"
        )
        self.day = day


class WorkCalendar:
    """Which days are working days, in the years ``first_year``..``last_year``."""

    def __init__(
        self,
        *,
        holidays: Iterable[date],
        workdays: Iterable[date],
        first_year: int,
        last_year: int,
    ) -> None:
        self.first_year, self.last_year = first_year, last_year
        self._workdays = frozenset(workdays)
        self._holidays = frozenset(holidays) - self._workdays

    @classmethod
    def national(
        cls, *, local_holidays: Iterable[date] = (), local_workdays: Iterable[date] = ()
    ) -> WorkCalendar:
        """The State Council calendar (``chinese-calendar``) plus a township's own days."""
        holidays = set(national.holidays)
        years = [d.year for d in holidays]
        workdays = (set(national.workdays) - set(local_holidays)) | set(local_workdays)
        return cls(
            holidays=holidays | set(local_holidays),
            workdays=workdays,
            first_year=min(years),
            last_year=max(years),
        )

    def known(self, day: date) -> bool:
        return self.first_year <= day.year <= self.last_year

    def is_workday(self, day: date) -> bool:
        """True on a working day; :class:`CalendarUnknown` outside the known years."""
        if not self.known(day):
            raise CalendarUnknown(day, self.first_year, self.last_year)
        if day in self._workdays:
            return True
        return day.weekday() < 5 and day not in self._holidays

    def add(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (the start day itself is not
        counted, as with any time limit that runs from an event)."""
        day = start
        left = days
        while left > 0:
            day += timedelta(days=1)
            if self.is_workday(day):
                left -= 1
        return day

    def between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end``; negative when
        ``end`` is before ``start`` (days still to go, counted the other way)."""
        if end < start:
            return -self.between(end, start)
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_workday(day)
        return count
