"""Parked receipts are bounded: a junk flood stops at the cap, expired ones are purged,
and a real receipt that comes before its provider id is written still applies."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlmodel import col

from channels.emulators import aliyun_sms
from pusher.db import transaction
from pusher.models import Delivery, DeliveryStatus, PendingReceipt, utcnow
from pusher.pipeline.lifecycle import purge
from pusher.pipeline.receipts import apply_all_parked
from pusher.settings import Settings
from tests.fanout.rig import SECRET, Rig, running
from tests.fanout.test_receipts import _post, _report, _sms_push

CAP = 30


def _capped(settings: Settings) -> Settings:
    return settings.model_copy(update={"parked_receipt_cap": CAP})


def _junk(n: int, start: int = 0) -> list[aliyun_sms.SentSms]:
    when, ids = utcnow(), range(start, start + n)
    phone = "13900000000"
    return [aliyun_sms.SentSms(phone, f"{i}^0", f"{i:032x}", "SMS_100", "", when) for i in ids]


async def _parked(rig: Rig) -> int:
    async with rig.resources.db() as session:
        return int(await session.scalar(select(func.count()).select_from(PendingReceipt)) or 0)


async def test_a_junk_flood_beyond_the_cap_is_not_stored_but_counted_and_logged_once(
    sqlite_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async with running(_capped(sqlite_settings), residents=10) as rig:
        url = f"{rig.base}/callbacks/aliyun/report/{SECRET}"
        flood = _junk(4 * CAP)
        with caplog.at_level(logging.WARNING, logger="pusher.web.receipt_batch"):
            for chunk in range(4):  # four requests, each beyond the cap once it is full
                part = flood[chunk * CAP : (chunk + 1) * CAP]
                status, _ = await _post(url, json=[_report(s) for s in part])
                assert status == 200  # acknowledged: the provider must not resend junk
        parked = await _parked(rig)
        dropped = rig.resources.metrics.registry.get_sample_value(
            "pusher_receipts_dropped_total", {"provider": "aliyun"}
        )
    assert parked == CAP
    assert dropped == 3 * CAP
    warnings = [r for r in caplog.records if "parking full" in r.getMessage()]
    assert len(warnings) == 1  # once a minute, not once a request


async def test_a_real_early_receipt_still_applies_beside_junk(sqlite_settings: Settings) -> None:
    async with running(_capped(sqlite_settings)) as rig:
        push_id = await _sms_push(rig)
        rows = [d for d in await rig.deliveries(push_id) if d.channel == "sms" and d.provider_id]
        real = rows[0]
        async with transaction(rig.resources.db) as session:  # as if its id were not written
            await session.execute(
                update(Delivery)
                .where(col(Delivery.id) == real.id)
                .values(status=DeliveryStatus.SENT, provider_id=None, done_at=None)
            )
        url = f"{rig.base}/callbacks/aliyun/report/{SECRET}"
        await _post(url, json=[_report(s) for s in _junk(CAP - 1)])
        record = next(
            r
            for r in rig.sms[aliyun_sms.STATE].records
            if real.provider_id == f"{r.out_id}:{r.phone}"
        )
        status, _ = await _post(url, json=[_report(record)])
        assert status == 200 and await _parked(rig) == CAP  # the real one found room
        async with transaction(rig.resources.db) as session:  # the worker writes its id
            await session.execute(
                update(Delivery)
                .where(col(Delivery.id) == real.id)
                .values(provider_id=real.provider_id)
            )
        async with transaction(rig.resources.db) as session:  # the sweeper's pass
            await apply_all_parked(session)
        async with rig.resources.db() as session:
            after = await session.get_one(Delivery, real.id)
        assert after.status == DeliveryStatus.DELIVERED
        assert await _parked(rig) == CAP - 1  # the junk waits for its expiry


async def test_expired_parked_receipts_are_purged_and_free_the_cap(
    sqlite_settings: Settings,
) -> None:
    settings = _capped(sqlite_settings)
    async with running(settings, residents=10) as rig:
        url = f"{rig.base}/callbacks/aliyun/report/{SECRET}"
        await _post(url, json=[_report(s) for s in _junk(CAP)])
        old = utcnow() - timedelta(hours=settings.parked_receipt_hours, minutes=1)
        async with transaction(rig.resources.db) as session:  # all of them parked long ago
            await session.execute(update(PendingReceipt).values(received_at=old))
        await _post(url, json=[_report(s) for s in _junk(5, start=CAP)])
        assert await _parked(rig) == CAP + 5  # expired ones do not hold the cap
        report = await purge(
            rig.resources.db,
            now=utcnow(),
            delivery_days=0,
            sandbox_days=0,
            parked_receipt_hours=settings.parked_receipt_hours,
        )
        assert report.parked_receipts == CAP
        assert await _parked(rig) == 5
