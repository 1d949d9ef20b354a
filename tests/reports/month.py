"""A generated November 2026: regions, items with their reviews, pushes, deliveries and
short-link opens, each written from the plain lists below, so a test can count its
expectations from the same lists (and a few by hand) and compare the report with them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from pusher.db import transaction
from pusher.models import Delivery, Item, LinkOpen, Push, Region, ResidentMessage, Review
from pusher.ops.migrate import upgrade
from pusher.runtime.resources import open_resources
from pusher.settings import Settings

BJ = ZoneInfo("Asia/Shanghai")
REGIONS = [  # code, name, kind, parent code
    ("3601", "示范县", "county", None),
    ("360123", "青山镇", "town", "3601"),
    ("360123101", "东村", "village", "360123"),
    ("360123102", "西村", "village", "360123"),
    ("360123101001", "东村一组", "grid", "360123101"),
    ("360123101002", "东村二组", "grid", "360123101"),
    ("360123102001", "西村一组", "grid", "360123102"),
]


def bj(text: str) -> datetime:
    """A Beijing wall time ``2026-11-03 10:00`` as aware UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=BJ).astimezone(UTC)


@dataclass(frozen=True)
class Spec:
    """One item: who published it, when it was formed, approved and pushed."""

    key: str
    domain: str | None
    publisher: str
    formed: str | None
    created: str
    limit: int | None
    approved: str | None  # leader approval (Beijing time); None: never approved
    step: str = "leader"
    disclosure: str = "主动公开"


ITEMS = [
    # formed 8 Oct 2026, 20 working days (National Day 1–7 Oct off, Sat 10 Oct worked):
    # due 4 Nov; approved 3 Nov → on time
    Spec("A", "养老服务", "青山镇人民政府", "2026-10-08", "2026-10-09 09:00", None,
         "2026-11-03 10:00"),
    # formed 15 Oct, 10 working days: due 29 Oct; approved 5 Nov → late
    Spec("B", "社会救助", "青山镇民政办", "2026-10-15", "2026-10-16 09:00", 10, "2026-11-05 09:00"),
    # no formation date: counted from entry (19 Nov); urgent one-step approval 20 Nov → on time
    Spec("C", None, "青山镇人民政府", None, "2026-11-19 08:00", None, "2026-11-20 08:00", "urgent"),
    # approved in October: not this month's
    Spec("D", "就业", "青山镇人民政府", "2026-10-01", "2026-10-10 09:00", None, "2026-10-20 09:00"),
    # only the staff check in November: not approved, not counted
    Spec("E", "就业", "青山镇人民政府", "2026-11-02", "2026-11-02 09:00", None, None),
    # disclosed on request (依申请公开): reviewed and approved, never proactively published
    Spec("H", "社会救助", "青山镇民政办", "2026-11-01", "2026-11-02 09:00", None,
         "2026-11-10 09:00", disclosure="依申请公开"),
]
# deliveries: item key → [(grid code, channel, status, count)]
DELIVERIES = {
    "A": [("360123101001", "wechat", "delivered", 4), ("360123101001", "sms", "failed", 1),
          ("360123101002", "wechat", "delivered", 2), ("360123101002", "sms", "unreachable", 1),
          ("360123102001", "sms", "confirmed", 1), ("360123102001", "sms", "sent", 1)],
    "B": [("360123102001", "wechat", "delivered", 10)],
    "C": [("360123101001", "sms", "queued", 1), ("360123101002", "wecom", "delivered", 1)],
    "D": [("360123101001", "wechat", "delivered", 5)],
}  # fmt: skip
# short-link opens: (item key, village code or "", Beijing day, opens)
OPENS = [
    ("A", "360123101", "2026-11-03", 5), ("A", "360123101", "2026-11-04", 3),
    ("A", "", "2026-11-04", 2), ("B", "360123102", "2026-11-30", 4),
    ("B", "360123102", "2026-12-01", 100), ("D", "360123101", "2026-10-31", 50),
]  # fmt: skip
# residents' messages: (channel, received at (Beijing), answered, closed, urgent)
MESSAGES = [
    ("sms", "2026-11-02 09:00", True, True, False),
    ("sms", "2026-11-10 20:00", True, False, True),
    ("wechat", "2026-11-15 08:00", False, False, False),
    ("wechat", "2026-10-31 23:30", True, True, False),  # October, Beijing time
    ("wechat", "2026-12-01 00:10", True, True, True),  # December
]
#: B's ten messages are reached one an hour after its approval: the 9th (90%) at 9 hours
B_HOURS_TO_90 = 9.0


async def build_month(settings: Settings) -> dict[str, int]:
    """Migrate and write the month; returns item key → item id."""
    await asyncio.to_thread(upgrade, settings.database_url.get_secret_value())
    async with open_resources(settings) as r, transaction(r.db) as db:
        regions = await _regions(db)
        ids = {}
        for spec in ITEMS:
            ids[spec.key] = await _item(db, spec, regions)
        for key, rows in DELIVERIES.items():
            spec = next(s for s in ITEMS if s.key == key)
            await _push(db, ids[key], spec, rows, regions)
        for channel, at, answered, closed, urgent in MESSAGES:
            db.add(_message(channel, bj(at), answered=answered, closed=closed, urgent=urgent))
        for key, code, day, n in OPENS:
            db.add(LinkOpen(item_id=ids[key], region_code=code,
                            day=datetime.fromisoformat(day).date(), opens=n))  # fmt: skip
    return ids


async def _regions(db: AsyncSession) -> dict[str, int]:
    ids: dict[str, int] = {}
    paths: dict[str, str] = {}
    for code, name, kind, parent in REGIONS:
        paths[code] = (paths[parent] if parent else "/") + f"{code}/"
        row = Region(code=code, name=name, kind=kind, parent_id=ids.get(parent or ""),
                     path=paths[code])  # fmt: skip
        db.add(row)
        await db.flush()
        ids[code] = row.id or 0
    return ids


async def _item(db: AsyncSession, spec: Spec, regions: dict[str, int]) -> int:
    approved = spec.approved is not None
    item = Item(
        title=f"{spec.key}：测试通知", body="正文", publisher=spec.publisher, domain=spec.domain,
        region_id=regions["360123"], formed_at=bj(spec.formed + " 00:00") if spec.formed else None,
        created_at=bj(spec.created), time_limit_days=spec.limit,
        status="pushed" if approved else "checked", disclosure=spec.disclosure,
    )  # fmt: skip
    db.add(item)
    await db.flush()
    assert item.id is not None
    at = bj(spec.approved) if spec.approved else bj(spec.created) + timedelta(hours=2)
    db.add(Review(item_id=item.id, step="submit", decision="submit", reviewer="publisher",
                  at=at - timedelta(hours=2)))  # fmt: skip
    if spec.step == "leader":
        db.add(Review(item_id=item.id, step="staff", decision="approve", reviewer="reviewer",
                      opinion="不涉密", at=at - timedelta(hours=1)))  # fmt: skip
    if approved:
        db.add(Review(item_id=item.id, step=spec.step, decision="approve", reviewer="leader",
                      opinion="同意发布", publish_form="公众号、短信", at=at))  # fmt: skip
    return item.id


async def _push(
    db: AsyncSession,
    item_id: int,
    spec: Spec,
    rows: list[tuple[str, str, str, int]],
    regions: dict[str, int],
) -> None:
    assert spec.approved is not None
    approved = bj(spec.approved)
    push = Push(item_id=item_id, status="done", created_at=approved + timedelta(minutes=1))
    db.add(push)
    await db.flush()
    n = 0
    for code, channel, status, count in rows:
        for _ in range(count):
            n += 1
            done = approved + timedelta(hours=n) if status in ("delivered", "confirmed") else None
            db.add(Delivery(push_id=push.id or 0, region_id=regions[code], channel=channel,
                            status=status, created_at=push.created_at, done_at=done,
                            next_attempt_at=None))  # fmt: skip


def _message(
    channel: str, at: datetime, *, answered: bool, closed: bool, urgent: bool
) -> ResidentMessage:
    later = at + timedelta(hours=3)
    return ResidentMessage(
        channel=channel, sender="13800000000", text="请问补贴何时发放？", urgent=urgent,
        created_at=at, answered_at=later if answered else None,
        closed_at=later if closed else None, status="closed" if closed else "open",
    )  # fmt: skip
