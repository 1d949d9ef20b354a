"""Receipts at our callback URLs: redelivered, unknown and forged ones change nothing wrong."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select, update

from channels.base import ChannelKind
from channels.emulators import aliyun_sms, wechat
from pusher.db import transaction
from pusher.models import Delivery, DeliveryStatus, PendingReceipt, Resident, Urgency
from pusher.pipeline.dispatch import dispatch
from pusher.settings import Settings
from tests.fanout.rig import SECRET, Rig, running
from tests.spine.flow import publish


async def _sms_push(rig: Rig) -> int:
    item_id = await publish(
        rig.resources,
        region_code=rig.town.town_code,
        title="停水通知",
        body="明日上午8时至12时全镇停水，请提前储水。",
        urgency=Urgency.URGENT,
    )
    push_id = await rig.plan(item_id)
    tally = await dispatch(rig.dispatcher("w"), push_id, ChannelKind.SMS)
    assert tally.sent > 0
    await rig.drain()
    return push_id


def _report(sms: aliyun_sms.SentSms, *, out_id: str | None = None) -> dict[str, Any]:
    """An SmsReport item as Aliyun posts it."""
    return {
        "phone_number": sms.phone,
        "send_time": sms.sent_at.strftime("%Y-%m-%d %H:%M:%S"),
        "report_time": sms.sent_at.strftime("%Y-%m-%d %H:%M:%S"),
        "success": True,
        "err_code": "DELIVERED",
        "err_msg": "用户接收成功",
        "sms_size": "1",
        "biz_id": sms.biz_id,
        "out_id": sms.out_id if out_id is None else out_id,
    }


async def _post(url: str, **kwargs: Any) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.post(url, **kwargs) as resp:
        return resp.status, await resp.text()


def _snapshot(rows: list[Any]) -> list[tuple[Any, ...]]:
    return [(d.id, d.status, d.done_at, d.error_code) for d in rows]


async def test_a_redelivered_sms_report_changes_nothing_and_is_acknowledged(
    sqlite_settings: Settings,
) -> None:
    async with running(sqlite_settings) as rig:
        push_id = await _sms_push(rig)
        before = await rig.deliveries(push_id)
        sms = [d for d in before if d.channel == "sms" and d.status != "unreachable"]
        assert sms and all(d.status == DeliveryStatus.DELIVERED for d in sms)
        records = rig.sms[aliyun_sms.STATE].records
        url = f"{rig.base}/callbacks/aliyun/report/{SECRET}"
        status, body = await _post(url, json=[_report(r) for r in records])
        after = await rig.deliveries(push_id)
    assert status == 200 and '"code": 0' in body
    assert _snapshot(after) == _snapshot(before)


async def test_a_receipt_for_an_unknown_message_is_acknowledged_and_logged(
    sqlite_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async with running(sqlite_settings) as rig:
        push_id = await _sms_push(rig)
        before = await rig.deliveries(push_id)
        stranger = aliyun_sms.SentSms(
            "13900000000", "1^0", "f" * 32, "SMS_100", "", before[0].created_at
        )
        url = f"{rig.base}/callbacks/aliyun/report/{SECRET}"
        caplog.clear()  # the push's own reports are logged too where INFO is on already
        with caplog.at_level(logging.INFO, logger="pusher.web.receipt_batch"):
            status, body = await _post(url, json=[_report(stranger)])
        after = await rig.deliveries(push_id)
        async with rig.resources.db() as session:
            parked = await session.scalar(select(func.count()).select_from(PendingReceipt))
    assert status == 200 and '"code": 0' in body
    assert _snapshot(after) == _snapshot(before)
    assert parked == 1  # kept in case its send is recorded later
    lines = [vars(r) for r in caplog.records if r.getMessage() == "receipts applied"]
    assert [(line["receipts"], line["parked"]) for line in lines] == [({"aliyun": 1}, 1)]


def _unsubscribe(openid: str) -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[unsubscribe]]></Event></xml>"
    ).encode()


async def test_a_forged_wechat_callback_is_refused_and_changes_nothing(
    sqlite_settings: Settings,
) -> None:
    async with running(sqlite_settings) as rig:
        follower = await rig.resident(wechat_follows=True)
        stamp, nonce = str(int(time.time())), "forged"
        query = {
            "signature": wechat.sign("not-our-token", stamp, nonce),
            "timestamp": stamp,
            "nonce": nonce,
        }
        assert follower.openid is not None
        status, _ = await _post(
            f"{rig.base}/callbacks/wechat", params=query, data=_unsubscribe(follower.openid)
        )
        async with rig.resources.db() as session:
            again = await session.get_one(Resident, follower.id)
    assert status == 403
    assert again.wechat_follows and not again.wechat_opt_out


async def test_reports_posted_at_once_are_each_applied_when_acknowledged(
    either_settings: Settings,
) -> None:
    # A large push brings hundreds of report requests a second; each one is answered
    # only once its receipt is committed (they are applied together, not one by one).
    async with running(either_settings) as rig:
        push_id = await _sms_push(rig)
        rows = await rig.deliveries(push_id)
        sms = {d.id for d in rows if d.channel == "sms" and d.status != "unreachable"}
        async with transaction(rig.resources.db) as session:  # as if no report came yet
            await session.execute(
                update(Delivery)
                .where(Delivery.id.in_(sms))
                .values(status=DeliveryStatus.SENT, done_at=None)
            )
        url = f"{rig.base}/callbacks/aliyun/report/{SECRET}"
        records = rig.sms[aliyun_sms.STATE].records
        answers = await asyncio.gather(*(_post(url, json=[_report(r)]) for r in records))
        after = {d.id: d for d in await rig.deliveries(push_id)}
    assert len(records) == len(sms) > 20
    assert {status for status, _ in answers} == {200}
    assert {after[i].status for i in sms} == {DeliveryStatus.DELIVERED}
