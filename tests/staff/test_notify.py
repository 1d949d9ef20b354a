"""Reviewers, leaders and grid workers are told what waits for them, through the WeChat and
SMS emulators, once per round: items in review (urgent ones again after 5 minutes, not
once handled) and urgent residents' messages (escalated to the duty officer)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from pusher.db import transaction
from pusher.models import Item, Region, StaffNotice, Urgency, User, UserRegion, utcnow
from pusher.pipeline import ingest, review
from pusher.runtime.jobs import FUNCTIONS
from pusher.settings import Settings
from pusher.staff.notify import Outbox, Told, notify_due
from tests.wx.rig import WxRig, running

REVIEWER_WX = "oStaffReviewer00000001"
LEADER_PHONE = "13900000011"
DUTY_PHONE = "13900000012"
GRID_PHONE = "13900000013"
SILENT_PHONE = "13900000014"  # a reviewer who did not agree to be told


def _outbox(rig: WxRig) -> Outbox:
    s = rig.resources.settings
    return Outbox(
        channels=rig.resources.channels,
        public_url=s.public_url,
        wechat_mode=s.wechat.mode,
        wechat_fields=s.dispatch.wechat_template_fields,
        org=s.sms_signature.strip("【】"),
    )


async def _contacts(rig: WxRig) -> None:
    """Contacts as the user page would keep them; the town's ``reviewer`` gets an openid."""
    agreed = utcnow()
    async with transaction(rig.resources.db) as db:
        users = {u.username: u for u in await db.scalars(select(User))}
        users["reviewer"].openid, users["reviewer"].notify_consent_at = REVIEWER_WX, agreed
        users["leader"].phone, users["leader"].notify_consent_at = LEADER_PHONE, agreed
        users["grid_worker"].phone, users["grid_worker"].notify_consent_at = GRID_PHONE, agreed
        db.add(User(username="duty", role="reviewer", duty_officer=True, phone=DUTY_PHONE,
                    notify_consent_at=agreed))  # fmt: skip
        db.add(User(username="silent", role="reviewer", phone=SILENT_PHONE))


async def _submitted(rig: WxRig, *, urgency: Urgency = Urgency.NORMAL) -> Item:
    data = ingest.ItemIn(
        title="关于发放高龄津贴的通知",
        body="本月发放。",
        publisher="青山镇人民政府",
        region_code=rig.town.village_codes[0],
        urgency=urgency,
    )
    async with transaction(rig.resources.db) as db:
        item, _ = await ingest.create_item(db, data, max_body_chars=50_000)
        await review.submit(db, item, actor="publisher")
    return item


async def _decide(rig: WxRig, item: Item, step: review.Step, who: str) -> None:
    async with transaction(rig.resources.db) as db:
        fresh = await db.get_one(Item, item.id)
        user = await db.scalar(select(User).where(User.username == who))
        assert user is not None
        await review.decide(db, fresh, step=step, decision=review.Decision.APPROVE,
                            actor=review.Actor.of(user))  # fmt: skip


async def _run(rig: WxRig, minutes: float = 0) -> Told:
    return await notify_due(
        rig.resources.db, _outbox(rig), now=utcnow() + timedelta(minutes=minutes)
    )


async def test_each_step_tells_its_people_once_with_a_link(either_settings: Settings) -> None:
    async with running(either_settings, residents=10) as rig:
        await _contacts(rig)
        item = await _submitted(rig)
        # SMS through the `staff` template: its fixed link and the console page's kind
        link = "请登录后台办理 https://gk.example.gov.cn/items"
        # the reviewers: one by WeChat, the duty officer (a reviewer too) by SMS
        assert (await _run(rig)).sent == {"wechat": 1, "sms": 1}
        assert len(rig.wechat_texts(REVIEWER_WX)) == 1 and len(rig.sms_texts(DUTY_PHONE)) == 1
        assert "待保密审查" in rig.wechat_texts(REVIEWER_WX)[0]
        assert rig.sms_texts(SILENT_PHONE) == []  # no consent: never told
        assert (await _run(rig, minutes=30)).sent == {}  # normal: no reminder, no repeat
        await _decide(rig, item, review.Step.STAFF, "reviewer")
        assert (await _run(rig)).sent == {"sms": 1}
        (text,) = rig.sms_texts(LEADER_PHONE)
        assert "您有一项待领导审批待处理" in text and text.endswith(link)
        await _decide(rig, item, review.Step.LEADER, "leader")
        assert (await _run(rig, minutes=30)).sent == {}
        assert len(rig.wechat_texts(REVIEWER_WX)) == 1 and len(rig.sms_texts(LEADER_PHONE)) == 1


async def test_urgent_item_is_told_at_once_and_again_after_five_minutes(
    either_settings: Settings,
) -> None:
    async with running(either_settings, residents=10) as rig:
        await _contacts(rig)
        handled = await _submitted(rig, urgency=Urgency.URGENT)
        await _submitted(rig, urgency=Urgency.URGENT)  # still waiting after 6 minutes
        assert (await _run(rig)).sent == {"sms": 4}  # leader and duty officer, two items
        await _decide(rig, handled, review.Step.URGENT, "leader")
        assert (await _run(rig, minutes=4)).sent == {}
        assert (await _run(rig, minutes=6)).sent == {"sms": 2}  # only the one still waiting
        assert (await _run(rig, minutes=20)).sent == {}
        assert [len(rig.sms_texts(p)) for p in (LEADER_PHONE, DUTY_PHONE)] == [3, 3]
        assert "再次提醒" in rig.sms_texts(LEADER_PHONE)[-1]
        assert rig.sms_texts(DUTY_PHONE)[-1].endswith("https://gk.example.gov.cn/items")
        assert rig.wechat_texts(REVIEWER_WX) == []  # the one-step path is not a reviewer's


async def test_urgent_message_reaches_the_grid_worker_then_the_duty_officer(
    either_settings: Settings,
) -> None:
    async with running(either_settings, residents=10) as rig:
        await _contacts(rig)
        async with rig.resources.db() as db:
            worker = await db.scalar(select(User.id).where(User.username == "grid_worker"))
            grid = await db.scalar(
                select(Region.code).join(UserRegion).where(UserRegion.user_id == worker)
            )
        openid = "oResidentInTrouble0001"
        await rig.event(openid, "subscribe", scene=f"r{grid}")
        await rig.event(openid, "text", content="救命，我被困在家里了")
        await rig.event(openid, "text", content="请问社保怎么交")  # not urgent: nobody told
        assert (await _run(rig)).sent == {"sms": 1}
        (first,) = rig.sms_texts(GRID_PHONE)
        # the template names the to-do and the page; the resident's words stay off SMS
        assert "紧急居民求助留言" in first and first.endswith("gk.example.gov.cn/messages")
        assert "救命" not in first
        assert (await _run(rig, minutes=6)).sent == {"sms": 2}  # again, and the duty officer
        assert "居民求助留言" in rig.sms_texts(DUTY_PHONE)[0]
        assert "再次提醒" in rig.sms_texts(GRID_PHONE)[-1]


async def test_two_runs_at_once_tell_each_user_once(either_settings: Settings) -> None:
    async with running(either_settings, residents=10) as rig:
        await _contacts(rig)
        await _submitted(rig, urgency=Urgency.URGENT)
        results = await asyncio.gather(*(_run(rig) for _ in range(3)))
        assert sum(sum(r.sent.values()) for r in results) == 2
        assert [len(rig.sms_texts(p)) for p in (LEADER_PHONE, DUTY_PHONE)] == [1, 1]
        async with rig.resources.db() as db:
            rows = list(await db.scalars(select(StaffNotice)))
        assert sorted(r.status for r in rows) == ["sent", "sent"]


def test_the_job_is_registered() -> None:
    assert "notify_staff" in {f.__name__ for f in FUNCTIONS}
