"""Subscription notices (订阅通知) need the follower's consent: WeChat is chosen only while
it is on record; the others get SMS (or are unreachable), never a notice WeChat refuses."""

from __future__ import annotations

from sqlalchemy import select, update

from channels.base import ChannelKind, Message, Rejected
from channels.emulators import wechat
from pusher.db import transaction
from pusher.models import Delivery, Resident
from pusher.pipeline.dispatch import dispatch
from pusher.runtime.jobs import process_item
from pusher.settings import Settings
from tests.spine.flow import publish
from tests.wx.rig import running

BIZSEND = "/cgi-bin/message/subscribe/bizsend"


async def test_only_consenting_followers_get_the_notice_by_wechat(
    either_settings: Settings,
) -> None:
    async with running(either_settings, residents=10, notices=True) as rig:
        village = rig.town.village_codes[0]
        people = {
            name: (await rig.add_resident(name, phone, village), f"oConsent{name}0000000001")
            for name, phone in (("A", "13700000101"), ("B", "13700000102"), ("C", "13700000103"))
        }
        async with transaction(rig.resources.db) as db:
            for rid, openid in people.values():
                await db.execute(
                    update(Resident)
                    .where(Resident.id == rid)
                    .values(openid=openid, wechat_follows=True)
                )
        await rig.event(people["A"][1], "consent", content="accept")
        await rig.event(people["C"][1], "consent", content="accept")
        await rig.event(people["C"][1], "consent", content="reject")  # changed their mind
        item_id = await publish(rig.resources, region_code=village, title="村道维修通知",
                                body="本周六村道维修，请绕行。")  # fmt: skip
        push_id = await process_item(rig.ctx, item_id)
        assert push_id is not None
        for kind in (ChannelKind.WECHAT, ChannelKind.SMS):
            await dispatch(rig.resources.dispatcher(), push_id, kind)
        async with rig.resources.db() as db:
            rows = {
                d.resident_id: d
                for d in await db.scalars(select(Delivery).where(Delivery.push_id == push_id))
            }
        channel = {name: rows[rid].channel for name, (rid, _) in people.items()}
        assert channel == {"A": "wechat", "B": "sms", "C": "sms"}
        assert {rows[rid].status for rid, _ in people.values()} <= {"sent", "delivered"}
        state = rig.wechat[wechat.STATE]
        wechat_rows = [d for d in rows.values() if d.channel == "wechat"]
        # every notice sent was one WeChat took: nobody without consent was tried
        assert state.calls[BIZSEND] == len(wechat_rows) == 1
        assert len(rig.wechat_texts(people["A"][1])) == 1
        assert len(rig.sms_texts("13700000102")) == 1 and len(rig.sms_texts("13700000103")) == 1


async def test_emulator_refuses_a_notice_without_consent_as_wechat_does(
    sqlite_settings: Settings,
) -> None:
    async with running(sqlite_settings, residents=5, notices=True) as rig:
        openid = "oConsentZ0000000001"
        channel = rig.resources.channels[ChannelKind.WECHAT]
        note = Message(key="k1", recipient=openid, text="通知", params={"thing1": "通知"})

        async def code() -> str | None:
            (outcome,) = await channel.send([note])
            return outcome.error.code if isinstance(outcome, Rejected) else None

        assert await code() == "43101"
        await rig.event(openid, "consent", content="accept")
        assert await code() is None
        await rig.event(openid, "consent", content="reject")
        assert await code() == "43101"
