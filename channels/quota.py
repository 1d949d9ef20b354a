"""Per-recipient quotas of the SMS providers: answers that mean "later", never "no".

A provider caps how many messages one number may get per 30 s, hour or day.
Such an answer must defer the message, not fail it. The table says, per
provider code, how long to wait: seconds, or ``"day"`` for the next Beijing
midnight (the providers count days in China time).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")

QUOTA_WAITS: dict[str, int | str] = {
    "LimitExceeded.PhoneNumberThirtySecondLimit": 60,
    "LimitExceeded.PhoneNumberOneHourLimit": 3600,
    "LimitExceeded.PhoneNumberDailyLimit": "day",
    "LimitExceeded.SameContentDailyLimit": "day",
    # Aliyun folds its minute/hour/day caps into one code: try again each hour
    "isv.BUSINESS_LIMIT_CONTROL": 3600,
    "isv.DAY_LIMIT_CONTROL": "day",
}


def quota_retry_at(code: str, now: datetime) -> datetime | None:
    """When a message refused with ``code`` may be tried again, or None if not a quota."""
    wait = QUOTA_WAITS.get(code)
    if wait is None:
        return None
    if wait == "day":
        local = now.astimezone(BEIJING)
        midnight = (local + timedelta(days=1)).replace(hour=0, minute=5, second=0, microsecond=0)
        return midnight
    assert isinstance(wait, int)
    return now + timedelta(seconds=wait)
