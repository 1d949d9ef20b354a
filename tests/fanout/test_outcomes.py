"""Writing a batch of provider answers onto claimed rows, on SQLite and PostgreSQL.

The outcomes of a batch are written with one set-based statement per kind of
answer; these tests pin what each kind leaves on the row, on both databases.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from channels.base import (
    LOOKUP_FAILED,
    Accepted,
    ChannelKind,
    FatalError,
    LookupFailed,
    Outcome,
    PermanentError,
    Rejected,
    TransientError,
)
from pusher.db import SessionFactory, create_engine, session_factory, transaction
from pusher.models import Delivery, DeliveryStatus, Item, PendingReceipt, Push, Region, Resident
from pusher.ops.migrate import upgrade
from pusher.pipeline.claims import Claimed, claim, leases_kept
from pusher.pipeline.outcomes import FATAL_HOLD, LOOKUP_RETRY, PACED, RetryPolicy, record
from pusher.pipeline.receipts import apply_parked

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
POLICY = RetryPolicy(delays=[60, 600], jitter=0.0)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'o.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[SessionFactory]:
    url = db_url
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    yield session_factory(engine)
    await engine.dispose()


async def _claimed(db: SessionFactory, n: int, *, worker: str = "w1") -> list[Claimed]:
    async with transaction(db) as s:
        region = Region(code="R1", name="青山村", kind="village", path="/R1/")
        s.add(region)
        await s.flush()
        residents = [
            Resident(name=f"居民{i}", region_id=region.id or 0, phone=f"1390000{i:04d}")
            for i in range(n)
        ]
        item = Item(title="停水通知", body="明日停水", publisher="镇政府", region_id=region.id or 0)
        s.add_all([*residents, item])
        await s.flush()
        push = Push(item_id=item.id or 0, status="dispatching")
        s.add(push)
        await s.flush()
        s.add_all(
            Delivery(
                push_id=push.id or 0,
                resident_id=r.id,
                channel=ChannelKind.SMS.value,
                recipient=r.phone,
                next_attempt_at=NOW - timedelta(minutes=1),
            )
            for r in residents
        )
    async with transaction(db) as s:
        return await claim(
            s,
            push_id=push.id or 0,
            channel=ChannelKind.SMS.value,
            worker=worker,
            limit=n,
            lease=timedelta(minutes=5),
            now=NOW,
        )


async def _record(db: SessionFactory, claimed: list[Claimed], outcomes: list[Outcome]) -> None:
    async with transaction(db) as s:
        await record(
            s,
            claimed,
            outcomes,
            kind=ChannelKind.SMS,
            provider="aliyun",
            worker="w1",
            policy=POLICY,
            now=NOW,
            paced_until=NOW + timedelta(hours=1),
        )


async def _rows(db: SessionFactory) -> dict[int, Delivery]:
    async with db() as s:
        return {d.id or 0: d for d in await s.scalars(select(Delivery))}


def _aware(at: datetime | None) -> datetime | None:
    return at if at is None or at.tzinfo else at.replace(tzinfo=UTC)


async def test_each_kind_of_answer_lands_on_its_row(db: SessionFactory) -> None:
    c = await _claimed(db, 6)
    k = [str(x.id) for x in c]
    outcomes: list[Outcome] = [
        Accepted(k[0], "biz-1:13900000000"),
        Accepted(k[1], "biz-1:13900000001"),
        Rejected(k[2], TransientError("http_503", "服务不可用")),
        Rejected(k[3], PermanentError("isv.MOBILE_NUMBER_ILLEGAL", "号码格式错误")),
        Rejected(k[4], TransientError(PACED, "provider rate")),
        Rejected(k[5], FatalError("isv.SMS_TEMPLATE_ILLEGAL", "模板不合法")),
    ]
    await _record(db, c, outcomes)
    rows = await _rows(db)
    sent = [rows[x.id] for x in c[:2]]
    assert [d.status for d in sent] == [DeliveryStatus.SENT] * 2
    assert [d.provider_id for d in sent] == ["biz-1:13900000000", "biz-1:13900000001"]
    assert all(_aware(d.sent_at) == NOW and d.error_code is None for d in sent)
    retry = rows[c[2].id]
    assert (retry.status, retry.error_code, retry.error_message) == (
        DeliveryStatus.QUEUED,
        "http_503",
        "服务不可用",
    )
    assert _aware(retry.next_attempt_at) == NOW + timedelta(seconds=60)
    assert retry.claimed_by is None and retry.attempts == 1
    failed = rows[c[3].id]
    assert failed.status == DeliveryStatus.FAILED and _aware(failed.done_at) == NOW
    assert failed.error_message == "号码格式错误"
    paced = rows[c[4].id]
    assert paced.status == DeliveryStatus.QUEUED and paced.attempts == 0
    assert _aware(paced.next_attempt_at) == NOW + timedelta(hours=1)
    held = rows[c[5].id]
    assert held.status == DeliveryStatus.QUEUED
    assert _aware(held.next_attempt_at) == NOW + FATAL_HOLD


async def test_a_lookup_that_failed_keeps_the_row_unknown_until_asked(db: SessionFactory) -> None:
    c = await _claimed(db, 1)
    await _record(db, c, [Rejected(str(c[0].id), LookupFailed(LOOKUP_FAILED, "查询失败"))])
    row = (await _rows(db))[c[0].id]
    assert row.status == DeliveryStatus.SENDING and row.claimed_by is None
    assert _aware(row.lease_until) == NOW + LOOKUP_RETRY and row.attempts == 0


async def test_a_worker_that_lost_its_claim_writes_nothing(db: SessionFactory) -> None:
    c = await _claimed(db, 2)
    async with transaction(db) as s:  # the lease ran out and another worker took row 0
        await s.execute(update(Delivery).where(Delivery.id == c[0].id).values(claimed_by="w2"))
    k = [str(x.id) for x in c]
    await _record(db, c, [Accepted(k[0], "biz-9:1"), Rejected(k[1], PermanentError("x", "y"))])
    rows = await _rows(db)
    assert rows[c[0].id].status == DeliveryStatus.SENDING and rows[c[0].id].provider_id is None
    assert rows[c[1].id].status == DeliveryStatus.FAILED


async def test_a_large_batch_is_written_whole(db: SessionFactory) -> None:
    c = await _claimed(db, 1000)
    await _record(db, c, [Accepted(str(x.id), f"biz-2:{x.recipient}") for x in c])
    rows = await _rows(db)
    assert {d.status for d in rows.values()} == {DeliveryStatus.SENT}
    assert {d.provider_id for d in rows.values()} == {f"biz-2:{x.recipient}" for x in c}


async def test_a_parked_receipt_waits_for_its_delivery_and_is_then_applied(
    db: SessionFactory,
) -> None:
    c = await _claimed(db, 1)
    pid = f"biz-3:{c[0].recipient}"
    async with transaction(db) as s:  # the report came before the worker wrote the id
        s.add(PendingReceipt(provider="aliyun", provider_id=pid, delivered=True, code="DELIVERED"))
    async with transaction(db) as s:
        assert await apply_parked(s, "aliyun", [pid]) == set()
    async with db() as s:
        assert await s.scalar(select(func.count(PendingReceipt.id))) == 1
    await _record(db, c, [Accepted(str(c[0].id), pid)])
    async with transaction(db) as s:
        await apply_parked(s, "aliyun", [pid])
    assert (await _rows(db))[c[0].id].status == DeliveryStatus.DELIVERED
    async with db() as s:
        assert await s.scalar(select(func.count(PendingReceipt.id))) == 0


async def test_receipts_parked_while_others_are_applied_are_never_lost(
    db: SessionFactory,
) -> None:
    # Reports race the worker's status write, so each callback parks its receipt and
    # applies it once committed, while the sweeper and other callbacks apply theirs and
    # a worker holds the write lock now and then: taking parked receipts must never
    # remove another receipt parked meanwhile.
    c = await _claimed(db, 40)
    pids = [f"biz-4:{x.recipient}" for x in c]
    await _record(db, c, [Accepted(str(x.id), pid) for x, pid in zip(c, pids, strict=True)])

    async def park(pid: str) -> None:
        async with transaction(db) as s:
            s.add(PendingReceipt(provider="aliyun", provider_id=pid, delivered=True, code="OK"))

    async def apply(ids: list[str]) -> None:
        async with transaction(db) as s:
            await apply_parked(s, "aliyun", ids)

    async def park_later(pid: str) -> None:
        await asyncio.sleep(0.01)
        await park(pid)

    async def worker_holding_the_lock() -> None:
        async with transaction(db) as s:
            await s.execute(update(Item).values(title="停水通知"))
            await asyncio.sleep(0.03)

    await park(pids[0])
    for before, now in itertools.pairwise(pids):
        await asyncio.gather(
            worker_holding_the_lock(),
            apply(pids),  # the sweeper
            apply([before]),  # the callback that parked ``before``, looking again
            park_later(now),  # the next report, early
        )
        await apply([now])  # its callback looks again once its receipt is committed
    rows = await _rows(db)
    assert [d.id for d in rows.values() if d.status != DeliveryStatus.DELIVERED] == []
    async with db() as s:
        assert await s.scalar(select(func.count(PendingReceipt.id))) == 0


async def test_a_slow_send_keeps_its_lease_and_is_not_taken_over(db: SessionFactory) -> None:
    c = await _claimed(db, 3)
    lease = timedelta(seconds=0.3)
    start = datetime.now(UTC)
    ids = [x.id for x in c]
    async with transaction(db) as s:  # claimed just now, with a short lease
        await s.execute(update(Delivery).values(lease_until=start + lease))
    kept = leases_kept(
        db, ids, worker="w1", lease=lease, clock=lambda: datetime.now(UTC), writes=nullcontext()
    )
    async with kept:
        await asyncio.sleep(1.0)  # the provider is slow: three leases long
        async with transaction(db) as s:  # another worker looks for expired claims
            taken = await claim(
                s,
                push_id=1,
                channel=ChannelKind.SMS.value,
                worker="w2",
                limit=10,
                lease=lease,
                now=datetime.now(UTC),
            )
    assert taken == []
    rows = await _rows(db)
    assert all(_aware(rows[i].lease_until) > start + lease for i in ids)  # type: ignore[operator]
    assert {rows[i].claimed_by for i in ids} == {"w1"}


async def test_without_renewal_an_expired_lease_is_taken_over(db: SessionFactory) -> None:
    """The other side of the test above: the takeover it guards against does happen."""
    c = await _claimed(db, 2)
    async with transaction(db) as s:
        taken = await claim(
            s,
            push_id=1,
            channel=ChannelKind.SMS.value,
            worker="w2",
            limit=10,
            lease=timedelta(minutes=5),
            now=NOW + timedelta(minutes=6),
        )
    assert sorted(t.id for t in taken) == sorted(x.id for x in c)
    assert all(t.unknown_outcome for t in taken)
