"""A resident's own choices reach the record: pausing WeChat re-addresses the message
waiting for them; SMS replies 恢复 (resume, confirmed by SMS), TD and a question."""

from __future__ import annotations

from sqlalchemy import select

from channels.emulators import aliyun_sms
from pusher.models import Delivery, Resident, ResidentMessage
from pusher.residents.scenes import scene_for
from pusher.runtime.jobs import process_item
from pusher.settings import Settings
from tests.spine.flow import publish
from tests.wx.rig import Phone, code_in, running

OPENID = "oPauser000000000000001"
PHONE = "13700000021"


async def test_pausing_wechat_moves_the_waiting_message_to_sms(either_settings: Settings) -> None:
    async with running(either_settings) as rig:
        village = await rig.region(rig.town.village_codes[0])
        grid = next(c for c in rig.town.grid_codes if c.startswith(village.code))
        rid = await rig.add_resident("周大姐", PHONE, grid)
        await rig.event(OPENID, "subscribe", scene=scene_for(village))
        phone = Phone(rig, OPENID)
        try:
            await phone.get("/wx/bind")
            await phone.post("/wx/bind/code", {"name": "周大姐", "phone": PHONE})
            await phone.post("/wx/bind/confirm", {"code": code_in(rig.sms_texts(PHONE))})
            item_id = await publish(
                rig.resources, region_code=village.code, title="停水通知", body="明日上午停水。"
            )
            push_id = await process_item(rig.ctx, item_id)  # planned, not sent yet
            await phone.get("/wx/")
            status, page = await phone.post("/wx/channels", {"resident_id": str(rid), "sms": "on"})
            assert status == 200 and "已保存" in page
        finally:
            await phone.close()
        async with rig.resources.db() as db:
            row = await db.scalar(
                select(Delivery).where(Delivery.push_id == push_id, Delivery.resident_id == rid)
            )
            resident = await db.get(Resident, rid)
        assert resident is not None and resident.wechat_opt_out and not resident.sms_opt_out
        assert row is not None and (row.channel, row.recipient) == ("sms", PHONE)


async def _reply(rig: object, phone: str, content: str) -> None:
    app = rig.sms  # type: ignore[attr-defined]
    await aliyun_sms.send_uplink(app, phone, content)
    await app[aliyun_sms.STATE].drain()


async def test_sms_replies_resume_opt_out_and_reach_the_grid_worker(
    either_settings: Settings,
) -> None:
    async with running(either_settings) as rig:
        grid = rig.town.grid_codes[0]
        rid = await rig.add_resident("吴大爷", PHONE, grid)
        await _reply(rig, PHONE, "TD")
        async with rig.resources.db() as db:
            assert (await db.get(Resident, rid)).sms_opt_out  # type: ignore[union-attr]
        await _reply(rig, PHONE, "恢复")
        async with rig.resources.db() as db:
            assert not (await db.get(Resident, rid)).sms_opt_out  # type: ignore[union-attr]
        # a template-only account has no template for the confirmation: none is sent
        # (never free text), the resumption itself is applied
        assert not any("已恢复" in t for t in rig.sms_texts(PHONE))
        await _reply(rig, PHONE, "低保什么时候发？")
        async with rig.resources.db() as db:
            messages = list(await db.scalars(select(ResidentMessage)))
        assert [(m.channel, m.resident_id, m.text) for m in messages] == [
            ("sms", rid, "低保什么时候发？")
        ]
