"""One-time subscription notices (一次性订阅): each consent lets one notice through. A notice
WeChat accepted uses the consent up, the next push goes by SMS until the follower consents
again; long-term consents keep working. The emulator refuses (43101) a second notice on a
used one-time consent, as WeChat does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from channels.base import ChannelKind, Message, Rejected
from channels.emulators import wechat
from pusher.db import transaction
from pusher.models import Delivery, Resident, WxFollower
from pusher.pipeline import consents
from pusher.pipeline.dispatch import dispatch
from pusher.runtime.jobs import process_item
from pusher.settings import Settings
from tests.spine.flow import publish
from tests.wx.rig import WxRig, running

BIZSEND = "/cgi-bin/message/subscribe/bizsend"
OPENID, PHONE = "oOnceA000000000000001", "13700000201"


async def _follower(rig: WxRig) -> int:
    rid = await rig.add_resident("甲", PHONE, rig.town.village_codes[0])
    async with transaction(rig.resources.db) as db:
        await db.execute(
            update(Resident).where(Resident.id == rid).values(openid=OPENID, wechat_follows=True)
        )
    return rid


async def _push(rig: WxRig, rid: int, n: int) -> str:
    """Publish and send one item to the village; the channel the resident got it on."""
    item_id = await publish(rig.resources, region_code=rig.town.village_codes[0],
                            title=f"第{n}号村务通知", body=f"第{n}次通知正文。")  # fmt: skip
    push_id = await process_item(rig.ctx, item_id)
    assert push_id is not None
    for kind in (ChannelKind.WECHAT, ChannelKind.SMS):
        await dispatch(rig.resources.dispatcher(), push_id, kind)
    async with rig.resources.db() as db:
        row = await db.scalar(
            select(Delivery).where(Delivery.push_id == push_id, Delivery.resident_id == rid)
        )
    assert row is not None and row.status in ("sent", "delivered"), row
    return row.channel


@pytest.mark.parametrize(("once", "expected"), [
    (True, ["wechat", "sms", "wechat", "sms"]),
    (False, ["wechat", "wechat", "wechat", "wechat"]),
])  # fmt: skip
async def test_one_time_consent_is_used_up_by_one_notice(
    either_settings: Settings, once: bool, expected: list[str]
) -> None:
    async with running(either_settings, residents=5, notices=True, once=once) as rig:
        rid = await _follower(rig)
        await rig.event(OPENID, "consent", content="accept")
        got = [await _push(rig, rid, 1), await _push(rig, rid, 2)]
        await rig.event(OPENID, "consent", content="accept")  # consents again
        got += [await _push(rig, rid, 3), await _push(rig, rid, 4)]
        assert got == expected
        wechat_sends = expected.count("wechat")
        # no notice was tried that WeChat refused: the consent record kept count
        assert rig.wechat[wechat.STATE].calls[BIZSEND] == wechat_sends
        assert len(rig.wechat_texts(OPENID)) == wechat_sends
        assert len(rig.sms_texts(PHONE)) == 4 - wechat_sends
        async with rig.resources.db() as db:
            follower = await db.get(WxFollower, OPENID)
        assert follower is not None and (follower.consent_at is None) is once


async def test_emulator_refuses_a_second_notice_on_a_one_time_consent(
    sqlite_settings: Settings,
) -> None:
    async with running(sqlite_settings, residents=5, notices=True, once=True) as rig:
        channel = rig.resources.channels[ChannelKind.WECHAT]
        assert channel.spends_consent

        async def code(key: str) -> str | None:
            note = Message(key=key, recipient=OPENID, text="通知", params={"thing1": "通知"})
            (outcome,) = await channel.send([note])
            return outcome.error.code if isinstance(outcome, Rejected) else None

        await rig.event(OPENID, "consent", content="accept")
        assert await code("k1") is None
        assert await code("k2") == "43101"  # used up
        await rig.event(OPENID, "consent", content="accept")
        assert await code("k3") is None


async def test_a_refused_notice_clears_a_consent_wechat_no_longer_holds(
    either_settings: Settings,
) -> None:
    async with running(either_settings, residents=5, notices=True, once=True) as rig:
        rid = await _follower(rig)
        await rig.event(OPENID, "consent", content="accept")
        rig.wechat[wechat.STATE].users.consents.discard(OPENID)  # spent elsewhere
        # refused with 43101, the message falls back to SMS; the record goes too
        assert [await _push(rig, rid, 1), await _push(rig, rid, 2)] == ["sms", "sms"]
        assert rig.wechat[wechat.STATE].calls[BIZSEND] == 1
        assert len(rig.sms_texts(PHONE)) == 2


async def test_a_consent_given_while_the_notice_was_in_flight_is_kept(
    sqlite_settings: Settings,
) -> None:
    async with running(sqlite_settings, residents=5) as rig:
        await rig.event(OPENID, "consent", content="accept")
        async with rig.resources.db() as db:
            follower = await db.get(WxFollower, OPENID)
            assert follower is not None and follower.consent_at is not None
            given = follower.consent_at
        async with transaction(rig.resources.db) as db:
            before = given - timedelta(seconds=1)
            assert await consents.spend(db, {OPENID}, given_before=before) == 0
            assert await consents.spend(db, {OPENID}, given_before=given) == 1
