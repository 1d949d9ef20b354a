"""One phone, several residents (家庭共用号码): one SMS per number per push, naming
everyone it is for where the text allows, with a delivery row per resident (the others
covered by the one that sent), on SQLite and PostgreSQL.

Counted where it matters: the SMS emulator's inbox (what the family's phone got).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from sqlalchemy import event, select, update

from channels.base import ChannelKind
from pusher.db import transaction
from pusher.models import Delivery, NumberSend, Resident, Urgency
from pusher.runtime import jobs
from pusher.settings import Settings
from tests.fanout.rig import ACCEPTED, Rig, running, urgent_push
from tests.spine.flow import publish

FAMILY = "13911110000"


async def _family(rig: Rig, size: int) -> list[Resident]:
    """``size`` residents reached only by SMS, given one shared number."""
    async with transaction(rig.resources.db) as session:
        sms_only = (
            await session.scalars(
                select(Resident)
                .where(Resident.openid.is_(None), Resident.phone.is_not(None))
                .where(Resident.sms_consent.is_(True))
                .order_by(Resident.id.desc())  # the last: planned in the last chunk
                .limit(size)
            )
        ).all()
        assert len(sms_only) == size
        ids = [r.id for r in sms_only]
        await session.execute(update(Resident).where(Resident.id.in_(ids)).values(phone=FAMILY))
        rows = await session.scalars(
            select(Resident).where(Resident.id.in_(ids)).order_by(Resident.id)
        )
        return list(rows)


async def _dispatch_twice(rig: Rig, push_id: int) -> None:
    for _ in range(2):  # twice at once, then again: a redelivered job
        await asyncio.gather(
            *(jobs.dispatch(rig.ctx, push_id, kind.value) for kind in ChannelKind for _ in range(2))
        )


async def test_a_shared_number_gets_one_sms_per_push(either_settings: Settings) -> None:
    async with running(either_settings) as rig:
        family = await _family(rig, 3)
        push_id = await urgent_push(rig)
        await _dispatch_twice(rig, push_id)
        await rig.drain()
        rows = await rig.deliveries(push_id)
        async with rig.resources.db() as session:
            left = (await session.scalars(select(NumberSend))).all()
    ours = [d for d in rows if d.resident_id in {r.id for r in family}]
    assert len(ours) == 3  # each resident keeps a delivery row: reports count all three
    sender = [d for d in ours if d.covered_by is None]
    assert len(sender) == 1 and sender[0].provider_id
    covered = [d for d in ours if d.covered_by is not None]
    assert {d.covered_by for d in covered} == {sender[0].id}
    # the receipt of the one SMS settled all three rows alike
    assert {(d.status, d.provider_id) for d in ours} == {("delivered", sender[0].provider_id)}
    inbox = rig.sms_inbox
    assert inbox.counts()[FAMILY] == 1
    others = [
        d.recipient
        for d in rows
        if d.channel == "sms" and d.status in ACCEPTED and d.recipient != FAMILY
    ]
    assert others and inbox.counts() == Counter(others) + Counter({FAMILY: 1})
    # everyone's warning, with the family named in front of the template's title
    names = "、".join(r.name for r in family)
    [text] = inbox.messages[FAMILY]
    assert text.replace(f"致{names}：", "", 1) == inbox.messages[others[0]][0]
    assert left == []  # the push is done: its number claims are gone


async def test_the_one_sms_names_everyone_it_is_for(either_settings: Settings) -> None:
    async with running(either_settings) as rig:
        family = await _family(rig, 2)
        item_id = await publish(
            rig.resources, region_code=rig.town.town_code, title="停水通知", body="明早停水。",
            urgency=Urgency.URGENT,
        )  # fmt: skip
        push_id = await rig.plan(item_id)
        await _dispatch_twice(rig, push_id)
        await rig.drain()
    texts = rig.sms_inbox.messages[FAMILY]
    assert len(texts) == 1 and f"致{family[0].name}、{family[1].name}：" in texts[0], texts


def test_names_go_in_only_where_the_text_allows() -> None:
    from pusher.pipeline.shared_numbers import named
    from pusher.summary.length import sms_segments

    short = {"text": "【青山镇】明早停水，请储水。"}
    marked = named(short, "张三、李四")
    assert marked["text"] == "【青山镇】致张三、李四：明早停水，请储水。"
    full = {"text": "【青山镇】" + "通" * (70 - 5)}
    assert sms_segments(full["text"]) == 1
    assert named(full, "张三、李四") == full  # a second segment would cost more: unnamed
    carried = {"text": "【青山镇】明早停水。", "params": {"content": "明早停水。"}}
    assert named(carried, "张三")["params"] == {"content": "致张三：明早停水。"}
    template = {"text": "【青山镇】明早停水。", "params": {"what": "停水", "when": "明早"}}
    assert named(template, "张三、李四") == template


async def test_a_moved_out_resident_is_never_pushed_to(sqlite_settings: Settings) -> None:
    from pusher.rosters.apply import move_out

    async with running(sqlite_settings) as rig:
        async with transaction(rig.resources.db) as session:
            gone = await session.scalar(select(Resident.id).order_by(Resident.id).limit(1))
            assert gone is not None
            assert await move_out(session, [gone], scope=None, actor="test") == [gone]
        push_id = await urgent_push(rig)
        rows = await rig.deliveries(push_id)
    residents = {d.resident_id for d in rows if d.resident_id is not None}
    assert gone not in residents and len(residents) == 119  # everyone else, town-wide


async def test_two_workers_claiming_one_number_at_once_send_it_once(
    either_settings: Settings,
) -> None:
    """Each worker holds one of the family's rows (different batches): the number's
    claim lets exactly one of them send, whichever commits first."""
    from pusher.pipeline.claims import Claimed
    from pusher.pipeline.shared_numbers import share_numbers

    async with running(either_settings) as rig:
        family = await _family(rig, 2)
        push_id = await urgent_push(rig)
        rows = [d for d in await rig.deliveries(push_id) if d.resident_id in {r.id for r in family}]
        assert len(rows) == 2

        async def worker(row: Delivery) -> list[int]:
            claimed = Claimed(row.id or 0, FAMILY, row.resident_id, 1, False)
            async with transaction(rig.resources.db) as session:
                sharing = await share_numbers(session, push_id, [claimed])
            return [c.id for c in sharing.send]

        sends = await asyncio.gather(*(worker(row) for row in rows))
    assert sorted(len(s) for s in sends) == [0, 1]


async def test_the_batch_numbers_go_to_postgresql_as_one_parameter(
    production_settings: Settings,
) -> None:
    """A claimed SMS batch (thousands of numbers in a county) is looked up with one array
    parameter, not a placeholder per number (SQLAlchemy renders each, PostgreSQL parses
    and plans a new statement each time); so are a WeChat batch's residents for 代收."""
    shapes: list[tuple[str, int]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        for shape in ("GROUP BY resident.phone", "wx_binding.proxy"):  # numbers; 代收 names
            if shape in statement:
                shapes.append((shape, len(parameters)))

    async with running(production_settings) as rig:
        engine = rig.resources.engine.sync_engine
        event.listen(engine, "before_cursor_execute", seen)
        try:
            push_id = await urgent_push(rig)
            await _dispatch_twice(rig, push_id)
            await rig.drain()
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        sms = [d for d in await rig.deliveries(push_id) if d.channel == "sms"]
    assert len(sms) > 20
    assert {shape for shape, _ in shapes} == {"GROUP BY resident.phone", "wx_binding.proxy"}
    assert max(n for _, n in shapes) <= 3, shapes
