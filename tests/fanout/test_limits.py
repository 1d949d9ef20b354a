"""Waiting instead of failing: quiet hours, and a provider's per-number daily cap."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from channels.base import ChannelKind
from pusher.models import Delivery, DeliveryStatus, Urgency
from pusher.pipeline.dispatch import Dispatcher, dispatch
from pusher.pipeline.sweep import due_work
from pusher.settings import QuietHours, Settings
from tests.fanout.rig import Rig, running
from tests.spine.flow import publish

BEIJING = ZoneInfo("Asia/Shanghai")
KINDS = (ChannelKind.WECHAT, ChannelKind.SMS)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def _planned(rig: Rig, title: str, urgency: Urgency, region: str) -> int:
    item_id = await publish(
        rig.resources,
        region_code=region,
        title=title,
        body="请村民于本周内到村委会办理相关手续。",
        urgency=urgency,
    )
    return await rig.plan(item_id)


def _sendable(rows: list[Delivery]) -> list[Delivery]:
    return [d for d in rows if d.channel in ("wechat", "sms")]


async def test_quiet_hours_hold_normal_items_until_eight_but_not_urgent_ones(
    sqlite_settings: Settings,
) -> None:
    day = (datetime.now(BEIJING) + timedelta(days=2)).date()  # a night still to come
    night = datetime.combine(day, time(22, 30), tzinfo=BEIJING)
    morning = datetime.combine(day + timedelta(days=1), time(8, 0), tzinfo=BEIJING)
    async with running(sqlite_settings) as rig:
        village = rig.town.village_codes[0]
        normal = await _planned(rig, "东山村医保缴费通知", Urgency.NORMAL, village)
        urgent = await _planned(rig, "东山村山洪预警", Urgency.URGENT, village)

        def at(moment: datetime) -> Dispatcher:
            return rig.dispatcher("w", quiet=QuietHours(), clock=lambda: moment)

        held = [await dispatch(at(night), normal, kind) for kind in KINDS]
        went = [await dispatch(at(night), urgent, kind) for kind in KINDS]
        waiting = _sendable(await rig.deliveries(normal))
        sent_at_night = rig.wechat_inbox.total() + rig.sms_inbox.total()
        later = [await dispatch(at(morning), normal, kind) for kind in KINDS]
        rows = _sendable(await rig.deliveries(normal))
    assert sum(t.sent for t in held) == 0
    assert waiting and all(d.status == DeliveryStatus.QUEUED for d in waiting)
    assert {_aware(d.next_attempt_at) for d in waiting} == {morning}
    assert sum(t.sent for t in went) == sent_at_night > 0
    assert sum(t.sent for t in later) == len(rows)
    assert all(d.status != DeliveryStatus.QUEUED for d in rows)


async def test_a_push_held_for_the_night_leaves_the_sweeper_nothing_to_start_until_eight(
    either_settings: Settings,
) -> None:
    """Held rows wait in the database: no dispatch job every sweep all night long."""
    day = (datetime.now(BEIJING) + timedelta(days=2)).date()
    night = datetime.combine(day, time(21, 30), tzinfo=BEIJING)
    morning = datetime.combine(day + timedelta(days=1), time(8, 0), tzinfo=BEIJING)
    async with running(either_settings) as rig:
        normal = await _planned(rig, "东山村医保缴费通知", Urgency.NORMAL, rig.town.town_code)
        db = rig.resources.db
        planned = {(normal, kind.value) for kind in KINDS}
        assert planned <= set(await due_work(db, night))  # planned, not claimed yet

        def at(moment: datetime) -> Dispatcher:
            return rig.dispatcher("w", quiet=QuietHours(), clock=lambda: moment)

        for kind in KINDS:
            await dispatch(at(night), normal, kind)
        overnight = [await due_work(db, night + timedelta(hours=h)) for h in (0, 2, 10)]
        at_eight = set(await due_work(db, morning))
        sent = [await dispatch(at(morning), normal, kind) for kind in KINDS]
        rows = _sendable(await rig.deliveries(normal))
        inboxes = rig.wechat_inbox.counts() | rig.sms_inbox.counts()
    assert overnight == [[], [], []]
    assert planned <= at_eight
    assert rows and sum(t.sent for t in sent) == len(rows)
    assert all(d.status != DeliveryStatus.QUEUED for d in rows)
    assert len(inboxes) == len(rows) and set(inboxes.values()) == {1}


async def test_a_push_still_going_out_at_nine_stops_and_the_rest_waits_for_the_morning(
    sqlite_settings: Settings,
) -> None:
    day = (datetime.now(BEIJING) + timedelta(days=2)).date()
    evening = datetime.combine(day, time(20, 59, 50), tzinfo=BEIJING)
    night = datetime.combine(day, time(21, 0, 5), tzinfo=BEIJING)
    morning = datetime.combine(day + timedelta(days=1), time(8, 0), tzinfo=BEIJING)
    async with running(sqlite_settings, residents=3200) as rig:
        normal = await _planned(rig, "青山镇医保缴费通知", Urgency.NORMAL, rig.town.town_code)

        def clock() -> datetime:  # nine o'clock strikes once the first batch has gone out
            return evening if rig.wechat_inbox.total() == 0 else night

        quiet = QuietHours()
        one_at_a_time = rig.resources.settings.dispatch.model_copy(
            update={"batches_in_flight": 1}  # the next claim waits for the batch sent before
        )
        evening_worker = rig.dispatcher("w", quiet=quiet, clock=clock, settings=one_at_a_time)
        first = await dispatch(evening_worker, normal, KINDS[0])
        rows = [d for d in await rig.deliveries(normal) if d.channel == "wechat"]
        held = [d for d in rows if d.status == DeliveryStatus.QUEUED]
        overnight = await due_work(rig.resources.db, night + timedelta(hours=3))
        at_eight = rig.dispatcher("w", quiet=quiet, clock=lambda: morning)
        later = await dispatch(at_eight, normal, KINDS[0])
        counts = rig.wechat_inbox.counts()
    assert 0 < first.sent < len(rows)  # sent until nine, then stopped
    assert len(held) == len(rows) - first.sent
    assert {_aware(d.next_attempt_at) for d in held} == {morning}
    assert (normal, "wechat") not in overnight
    assert later.sent == len(held)
    assert len(counts) == len(rows) and set(counts.values()) == {1}


async def test_a_per_number_daily_cap_defers_to_the_next_beijing_day(
    sqlite_settings: Settings,
) -> None:
    async with running(sqlite_settings, sms="tencent", daily_cap=1) as rig:
        town = rig.town.town_code
        first = await _planned(rig, "暴雨蓝色预警", Urgency.URGENT, town)
        assert (await dispatch(rig.dispatcher("w"), first, ChannelKind.SMS)).sent > 0
        second = await _planned(rig, "暴雨黄色预警", Urgency.URGENT, town)
        tally = await dispatch(rig.dispatcher("w"), second, ChannelKind.SMS)
        rows = [d for d in await rig.deliveries(second) if d.channel == "sms"]
    tomorrow = (datetime.now(BEIJING) + timedelta(days=1)).date()
    assert rows and tally.deferred == len(rows) and tally.failed == 0 and tally.sent == 0
    assert all(d.status == DeliveryStatus.QUEUED for d in rows)
    assert all(d.error_code == "LimitExceeded.PhoneNumberDailyLimit" for d in rows)
    assert all(d.attempts == 0 for d in rows)  # a quota costs no try
    assert {_aware(d.next_attempt_at).astimezone(BEIJING).date() for d in rows} == {tomorrow}
    assert max(rig.sms_inbox.counts().values()) == 1
