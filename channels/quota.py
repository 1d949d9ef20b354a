"""Per-recipient quotas of the SMS providers: answers that mean "later", never "no".

A provider caps how many messages one number may get per 30 s, hour or day.
Such an answer must defer the message, not fail it. The table says, per
provider code, how long to wait: seconds, or ``"day"`` for the next Beijing
midnight (the providers count days in China time). Each provider declares its
table as ``quota_waits`` in its descriptor; ``channels.registry.QUOTA_WAITS``
holds them by provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")

def quota_retry_at(
    code: str, now: datetime, *, waits: Mapping[str, int | str]
) -> datetime | None:
    """When a message refused with ``code`` may be tried again, or None if not a quota."""
    wait = waits.get(code)
    if wait is None:
        return None
    if wait == "day":
        local = now.astimezone(BEIJING)
        midnight = (local + timedelta(days=1)).replace(hour=0, minute=5, second=0, microsecond=0)
        return midnight
    assert isinstance(wait, int)
    return now + timedelta(seconds=wait)
