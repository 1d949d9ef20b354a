"""A resident joins through the village QR code, binds with the SMS code, chooses topics,
receives a push on WeChat and finds it among "my notices" — over real HTTP."""

from __future__ import annotations

from sqlalchemy import select

from channels.base import ChannelKind
from channels.emulators import wechat
from pusher.models import Resident, Subscription, Topic, WxFollower
from pusher.pipeline.dispatch import dispatch
from pusher.residents.scenes import scene_for
from pusher.residents.wxapi import account, qr_ticket
from pusher.settings import Settings
from tests.spine.flow import publish
from tests.wx.rig import Phone, code_in, running

OPENID = "oWangDaye000000000001"
PHONE = "13700000001"


async def test_scan_follow_bind_choose_receive_and_look_back(sqlite_settings: Settings) -> None:
    async with running(sqlite_settings) as rig:
        village = await rig.region(rig.town.village_codes[0])
        grid = next(c for c in rig.town.grid_codes if c.startswith(village.code))
        rid = await rig.add_resident("王大爷", PHONE, grid)
        scene = scene_for(village)
        ticket = await qr_ticket(account(rig.resources.channels), scene)
        assert rig.wechat[wechat.STATE].users.tickets[ticket] == scene

        answer = await rig.event(OPENID, "subscribe", scene=scene)
        assert answer["status"] == 200
        assert "欢迎关注" in answer["body"] and f"{rig.base}/wx/bind" in answer["body"]
        async with rig.resources.db() as db:
            follower = await db.get(WxFollower, OPENID)
        assert follower is not None and follower.region_id == village.id

        phone = Phone(rig, OPENID)
        try:
            status, page = await phone.get("/wx/bind")
            assert status == 200 and village.name in page
            status, page = await phone.post("/wx/bind/code", {"name": "王大爷", "phone": PHONE})
            assert status == 200 and "验证码已发送" in page, page
            code = code_in(rig.sms_texts(PHONE))
            status, page = await phone.post("/wx/bind/confirm", {"code": code})
            assert status == 200 and "绑定成功" in page, page
            async with rig.resources.db() as db:
                resident = await db.get(Resident, rid)
                topic = await db.scalar(select(Topic).order_by(Topic.id).limit(1))
            assert resident is not None and topic is not None
            assert resident.openid == OPENID and resident.wechat_follows

            status, page = await phone.get("/wx/")
            assert status == 200 and topic.name in page
            form = {"resident_id": str(rid), "topic_id": str(topic.id), "on": "1"}
            status, page = await phone.post("/wx/topics", form)
            assert status == 200 and "已保存" in page
            async with rig.resources.db() as db:
                sub = await db.get(Subscription, (rid, topic.id))
            assert sub is not None and not sub.opted_out

            title = "村道维修通知"
            item_id = await publish(
                rig.resources,
                region_code=village.code,
                title=title,
                body="本周六村道维修，请绕行。",
            )
            from pusher.runtime.jobs import process_item

            push_id = await process_item(rig.ctx, item_id)
            assert push_id is not None
            await dispatch(rig.resources.dispatcher(), push_id, ChannelKind.WECHAT)
            assert len(rig.wechat_texts(OPENID)) == 1
            assert rig.sms_texts(PHONE) == [rig.sms_texts(PHONE)[0]]  # only the code went by SMS

            status, page = await phone.get("/wx/notices")
            assert status == 200 and title in page and f"/p/{item_id}" in page
            status, page = await phone.get("/wx/notices?q=不存在的词")
            assert title not in page
        finally:
            await phone.close()
