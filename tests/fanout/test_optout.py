"""Opt-outs from the residents' side: an SMS "TD" reply, a WeChat unfollow."""

from __future__ import annotations

import time

import aiohttp
from sqlalchemy import select

from channels.base import ChannelKind
from channels.emulators import aliyun_sms, wechat
from pusher.db import transaction
from pusher.models import Delivery, Resident, Urgency, utcnow
from pusher.pipeline.dispatch import dispatch
from pusher.pipeline.outcomes import FALLBACK_CODE
from pusher.pipeline.readdress import follow_resident
from pusher.settings import Settings
from tests.fanout.rig import WX_TOKEN, Rig, running
from tests.spine.flow import publish


async def _planned(rig: Rig, title: str, body: str = "请全镇居民注意防范，减少外出。") -> int:
    """An urgent town-wide item, published and planned; nothing sent yet."""
    item_id = await publish(
        rig.resources,
        region_code=rig.town.town_code,
        title=title,
        body=body,
        urgency=Urgency.URGENT,
    )
    return await rig.plan(item_id)


async def _push(rig: Rig, title: str) -> int:
    push_id = await _planned(rig, title)
    for kind in (ChannelKind.WECHAT, ChannelKind.SMS):
        await dispatch(rig.dispatcher("w"), push_id, kind)
    await rig.drain()
    return push_id


async def _reload(rig: Rig, resident: Resident) -> Resident:
    async with rig.resources.db() as session:
        return await session.get_one(Resident, resident.id)


async def test_an_sms_td_reply_stops_sms_for_that_resident(sqlite_settings: Settings) -> None:
    async with running(sqlite_settings) as rig:
        resident = await rig.resident(wechat_follows=False, sms_consent=True)
        assert resident.phone is not None
        await _push(rig, "寒潮蓝色预警")
        assert rig.sms_inbox.counts()[resident.phone] == 1
        await aliyun_sms.send_uplink(rig.sms, resident.phone, "TD")
        later = await _push(rig, "寒潮黄色预警")
        rows = await rig.deliveries(later)
        opted = await _reload(rig, resident)
    assert opted.sms_opt_out
    mine = [d for d in rows if d.resident_id == resident.id]
    assert [d.channel for d in mine] == ["none"]  # on the follow-up list instead
    assert rig.sms_inbox.counts()[resident.phone] == 1
    assert any(d.channel == "sms" for d in rows)  # others still get SMS


async def test_a_td_reply_cancels_the_sms_still_waiting_for_that_resident(
    sqlite_settings: Settings,
) -> None:
    async with running(sqlite_settings) as rig:
        resident = await rig.resident(wechat_follows=False, sms_consent=True)
        assert resident.phone is not None
        push_id = await _planned(rig, "森林防火通知", "进山请勿携带火种。")  # nothing sent yet
        await aliyun_sms.send_uplink(rig.sms, resident.phone, "退订")
        await dispatch(rig.dispatcher("w"), push_id, ChannelKind.SMS)
        await rig.drain()
        rows = await rig.deliveries(push_id)
    mine = [d for d in rows if d.resident_id == resident.id]
    assert [(d.status, d.error_code) for d in mine] == [("failed", "opted_out")]
    assert resident.phone not in rig.sms_inbox.counts()
    others = [d for d in rows if d.channel == "sms" and d.resident_id != resident.id]
    assert others and all(d.status != "failed" for d in others)  # only that one is cancelled


async def _wechat_event(rig: Rig, openid: str, event: str) -> None:
    """Post a follow or unfollow event as the WeChat server does, signed."""
    stamp, nonce = str(int(time.time())), f"n-{event}-{time.monotonic_ns()}"
    query = {"signature": wechat.sign(WX_TOKEN, stamp, nonce), "timestamp": stamp}
    body = (
        f"<xml><ToUserName><![CDATA[gh_x]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{stamp}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event></xml>"
    )
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{rig.base}/callbacks/wechat", params=query | {"nonce": nonce}, data=body
        ) as resp,
    ):
        assert resp.status == 200 and await resp.text() == "success"


async def test_a_wechat_unfollow_stops_wechat_for_that_resident(sqlite_settings: Settings) -> None:
    async with running(sqlite_settings) as rig:
        resident = await rig.resident(wechat_follows=True, sms_consent=True)
        assert resident.openid is not None
        await _push(rig, "大风蓝色预警")
        assert rig.wechat_inbox.counts()[resident.openid] == 1
        await _wechat_event(rig, resident.openid, "unsubscribe")
        later = await _push(rig, "大风黄色预警")
        rows = await rig.deliveries(later)
        opted = await _reload(rig, resident)
    assert opted.wechat_opt_out and not opted.wechat_follows
    mine = [d for d in rows if d.resident_id == resident.id]
    assert [(d.channel, d.recipient) for d in mine] == [("sms", resident.phone)]
    assert rig.wechat_inbox.counts()[resident.openid] == 1


async def test_a_resident_who_follows_the_account_again_gets_wechat_again(
    sqlite_settings: Settings,
) -> None:
    async with running(sqlite_settings) as rig:
        resident = await rig.resident(wechat_follows=True, sms_consent=True)
        assert resident.openid is not None
        await _wechat_event(rig, resident.openid, "unsubscribe")
        while_away = await _push(rig, "大风蓝色预警")
        await _wechat_event(rig, resident.openid, "subscribe")
        back = await _push(rig, "大风黄色预警")
        await _wechat_event(rig, "o" + "x" * 27, "subscribe")  # a follower we do not know
        channels = [
            [d.channel for d in await rig.deliveries(push) if d.resident_id == resident.id]
            for push in (while_away, back)
        ]
        again = await _reload(rig, resident)
    assert channels == [["sms"], ["wechat"]]
    assert again.wechat_follows and not again.wechat_opt_out
    assert rig.wechat_inbox.counts()[resident.openid] == 1


async def _changed(rig: Rig, resident: Resident, **values: object) -> None:
    """Save ``resident`` with ``values`` as the resident form does, queued rows following."""
    async with transaction(rig.resources.db) as session:
        saved = await session.get_one(Resident, resident.id)
        for key, value in values.items():
            setattr(saved, key, value)
        await session.flush()
        await follow_resident(session, saved, utcnow())


async def test_a_resident_refusing_wechat_before_the_send_gets_the_waiting_push_by_sms(
    sqlite_settings: Settings,
) -> None:
    async with running(sqlite_settings) as rig:
        follower = await rig.resident(wechat_follows=True, sms_consent=True)
        texter = await rig.resident(wechat_follows=False, sms_consent=True)
        assert follower.openid and follower.phone and texter.phone
        push_id = await _planned(rig, "森林防火通知", "进山请勿携带火种。")  # nothing sent yet
        async with transaction(rig.resources.db) as session:  # as if WeChat had failed before
            row = await session.scalar(
                select(Delivery).where(
                    Delivery.push_id == push_id, Delivery.resident_id == texter.id
                )
            )
            assert row is not None and row.channel == "sms"
            row.error_code = FALLBACK_CODE
        texter_openid = "o" + "t" * 27
        await _changed(rig, follower, wechat_opt_out=True)
        await _changed(rig, texter, openid=texter_openid, wechat_follows=True, sms_opt_out=True)
        for kind in (ChannelKind.WECHAT, ChannelKind.SMS):
            await dispatch(rig.dispatcher("w"), push_id, kind)
        await rig.drain()
        rows = {d.resident_id: d for d in await rig.deliveries(push_id)}
    assert (rows[follower.id].channel, rows[follower.id].recipient) == ("sms", follower.phone)
    assert rig.sms_inbox.counts()[follower.phone] == 1
    assert follower.openid not in rig.wechat_inbox.counts()
    # a fallback SMS does not go back to WeChat, which failed for this push already
    assert (rows[texter.id].status, rows[texter.id].error_code) == ("failed", "opted_out")
    assert texter_openid not in rig.wechat_inbox.counts()
    assert texter.phone not in rig.sms_inbox.counts()


async def test_an_unfollow_before_the_send_turns_the_waiting_wechat_message_into_an_sms(
    sqlite_settings: Settings,
) -> None:
    async with running(sqlite_settings) as rig:
        follower = await rig.resident(wechat_follows=True, sms_consent=True)
        assert follower.openid and follower.phone
        push_id = await _planned(rig, "山洪灾害预警", "请沿河居民立即转移。")  # nothing sent yet
        await _wechat_event(rig, follower.openid, "unsubscribe")
        for kind in (ChannelKind.WECHAT, ChannelKind.SMS):
            await dispatch(rig.dispatcher("w"), push_id, kind)
        await rig.drain()
        [mine] = [d for d in await rig.deliveries(push_id) if d.resident_id == follower.id]
    assert (mine.channel, mine.recipient, mine.status) == ("sms", follower.phone, "delivered")
    assert rig.sms_inbox.counts()[follower.phone] == 1
    assert follower.openid not in rig.wechat_inbox.counts()
