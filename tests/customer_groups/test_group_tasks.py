"""The customer-group job against the WeCom emulator: one task per (push, owner), rows
waiting → sent (the platform's send time) or failed (its reason), exactly one task even
when the creation's outcome is unknown or its run died, one reminder at ``remind_at``
(then listed for follow-up), given up after the cutoff."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from pusher.console.group_followup import unconfirmed_groups
from pusher.db import transaction
from pusher.models import GroupTask, SandboxMessage, StaffNotice, utcnow
from pusher.pipeline.group_text import group_link, plain_group_text
from pusher.pipeline.texts import short_code
from pusher.settings import Settings
from tests.customer_groups.rig import KEEPER_PHONE, running

BACKENDS = ["sqlite_settings", pytest.param("production_settings", marks=pytest.mark.production)]


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest) -> Settings:
    found: Settings = request.getfixturevalue(request.param)
    return found


async def test_one_task_per_owner_and_rows_follow_the_platform(settings: Settings) -> None:
    async with running(settings) as rig:
        push_id = await rig.push()
        # planning asks for the job at once
        assert ("group_tasks", (push_id,), f"group_tasks:{push_id}") in rig.queue.jobs
        rows = await rig.rows(push_id)
        assert {c: r.status for c, r in rows.items()} == dict.fromkeys(
            ("wrZ1", "wrZ2", "wrL1"), "queued"
        )
        report = await rig.run(push_id)
        assert report["created"][str(push_id)]["created"] == 2
        tasks = await rig.tasks(push_id)
        assert {o: t.status for o, t in tasks.items()} == {"zhang": "waiting", "li": "waiting"}
        made = rig.emulator.tasks
        assert sorted((t.sender, tuple(sorted(t.chat_ids))) for t in made.values()) == [
            ("li", ("wrL1",)),
            ("zhang", ("wrZ1", "wrZ2")),
        ]
        rows = await rig.rows(push_id)
        for chat, owner in (("wrZ1", "zhang"), ("wrZ2", "zhang"), ("wrL1", "li")):
            assert (rows[chat].status, rows[chat].provider_id) == ("waiting", tasks[owner].msgid)
        # li's one group is named by its link; zhang's task goes to two, so none is
        li = made[str(tasks["li"].msgid)]
        assert f"?g={short_code(rig.chats['wrL1'])}" in li.text and "森林火险红色预警" in li.text
        assert "?g=" not in made[str(tasks["zhang"].msgid)].text
        # running again creates nothing more
        await rig.run(push_id)
        await rig.run()
        assert len(rig.emulator.tasks) == 2

        await rig.confirm(str(tasks["zhang"].msgid), "zhang")
        # read an hour later: the rows keep the platform's send time, not the reader's
        polled = (await rig.run(now=utcnow() + timedelta(hours=1)))["polled"]
        assert (polled["sent"], polled["failed"]) == (2, 0)
        rows = await rig.rows(push_id)
        assert [rows[c].status for c in ("wrZ1", "wrZ2", "wrL1")] == ["sent", "sent", "waiting"]
        sent_at = rows["wrZ1"].sent_at
        assert sent_at is not None and abs((sent_at - utcnow()).total_seconds()) < 60
        tasks = await rig.tasks(push_id)
        assert tasks["zhang"].status == "settled" and tasks["li"].status == "waiting"


async def test_a_dismissed_group_fails_with_the_platforms_reason(sqlite_settings: Settings) -> None:
    async with running(sqlite_settings) as rig:
        push_id = await rig.push()
        await rig.run(push_id)
        rig.emulator.dismissed.add("wrZ2")
        zhang = (await rig.tasks(push_id))["zhang"]
        await rig.confirm(str(zhang.msgid), "zhang")
        await rig.run()
        rows = await rig.rows(push_id)
        assert rows["wrZ1"].status == "sent"
        gone = rows["wrZ2"]
        assert gone.status == "failed" and gone.error_code and gone.error_message
        assert "群" in gone.error_message


async def test_an_unknown_outcome_is_found_not_created_again(sqlite_settings: Settings) -> None:
    async with running(sqlite_settings, stall_after_create_seconds=1.5) as rig:
        push_id = await rig.push()
        report = await rig.run(push_id)
        tally = report["created"][str(push_id)]
        assert tally["created"] == 0 and tally["adopted"] == 2  # both timed out, both found
        assert len(rig.emulator.tasks) == 2
        tasks = await rig.tasks(push_id)
        assert {t.msgid for t in tasks.values()} == set(rig.emulator.tasks)
        rows = await rig.rows(push_id)
        assert {r.provider_id for r in rows.values()} == set(rig.emulator.tasks)
        rig.emulator.stall_after_create_seconds = 0
        await rig.run(push_id)
        assert len(rig.emulator.tasks) == 2


async def test_a_run_that_died_mid_creation_is_taken_over_once(settings: Settings) -> None:
    """A task row left ``creating`` past its lease, whose task WeCom did create (the run
    died after the call): the next run adopts it; li's, never created, is created."""
    async with running(settings) as rig:
        push_id = await rig.push()
        started = utcnow() - timedelta(minutes=5)
        async with rig.resources.db() as session:
            from pusher.models import Push

            push = await session.get_one(Push, push_id)
            texts = dict(push.texts)
        from channels.wecom_groupmsg import GroupMessage
        from pusher.runtime.group_jobs import client_of

        client = client_of(rig.resources)
        assert client is not None
        link = group_link(str(texts["link"]), [rig.chats["wrZ1"], rig.chats["wrZ2"]])
        made, _ = await client.create_task(
            sender="zhang", chat_ids=["wrZ1", "wrZ2"],
            message=GroupMessage(plain_group_text(texts, link)),
        )
        async with transaction(rig.resources.db) as session:
            for owner in ("zhang", "li"):
                session.add(GroupTask(push_id=push_id, owner_userid=owner, status="creating",
                                      created_at=started, remind_at=started))
        report = await rig.run(push_id)
        tally = report["created"][str(push_id)]
        assert (tally["adopted"], tally["created"]) == (1, 1)
        tasks = await rig.tasks(push_id)
        assert tasks["zhang"].msgid == made
        assert len(rig.emulator.tasks) == 2
        assert sorted(t.sender for t in rig.emulator.tasks.values()) == ["li", "zhang"]


async def test_a_task_is_adopted_only_by_its_own_owner(sqlite_settings: Settings) -> None:
    """Two owners' tasks to several groups each carry the same text (no ``?g=``): a run
    that died after WeCom made zhang's task leaves both rows ``creating``; li's look-up,
    which runs first, must not take zhang's task for its own."""
    async with running(sqlite_settings) as rig:
        async with transaction(rig.resources.db) as session:
            from pusher.models import Region
            from pusher.town.chats import ChatIn, create_chat

            codes = list(await session.scalars(
                select(Region.code).where(Region.kind == "village").order_by(Region.id)
            ))
            spec = ChatIn("北坡村客户群", codes[3], kind="customer_group",
                          owner_userid="li", wecom_chat_id="wrL2")
            chat = await create_chat(session, spec)
            assert chat.id is not None
        rig.emulator.owners = {"zhang": frozenset({"wrZ1", "wrZ2"}),
                               "li": frozenset({"wrL1", "wrL2"})}
        push_id = await rig.push()
        started = utcnow() - timedelta(minutes=5)
        async with rig.resources.db() as session:
            from pusher.models import Push

            texts = dict((await session.get_one(Push, push_id)).texts)
        from channels.wecom_groupmsg import GroupMessage
        from pusher.runtime.group_jobs import client_of

        client = client_of(rig.resources)
        assert client is not None
        text = plain_group_text(texts, group_link(str(texts["link"]), [1, 2]))  # several groups
        made, _ = await client.create_task(
            sender="zhang", chat_ids=["wrZ1", "wrZ2"], message=GroupMessage(text)
        )
        async with transaction(rig.resources.db) as session:
            for owner in ("li", "zhang"):  # li's row first: its look-up runs first
                session.add(GroupTask(push_id=push_id, owner_userid=owner, status="creating",
                                      created_at=started, remind_at=started))
        await rig.run(push_id)
        tasks = await rig.tasks(push_id)
        assert tasks["zhang"].msgid == made
        assert tasks["li"].msgid not in (None, made)
        assert sorted(t.sender for t in rig.emulator.tasks.values()) == ["li", "zhang"]


async def test_a_creating_task_inside_its_lease_is_left_alone(sqlite_settings: Settings) -> None:
    async with running(sqlite_settings) as rig:
        push_id = await rig.push()
        async with transaction(rig.resources.db) as session:
            session.add(GroupTask(push_id=push_id, owner_userid="li", status="creating",
                                  created_at=utcnow(), remind_at=utcnow()))
        await rig.run(push_id)
        assert sorted(t.sender for t in rig.emulator.tasks.values()) == ["zhang"]
        assert (await rig.tasks(push_id))["li"].status == "creating"


async def test_reminded_once_at_remind_at_then_followed_up_then_given_up(
    settings: Settings,
) -> None:
    async with running(settings) as rig:
        push_id = await rig.push()
        t0 = utcnow()
        await rig.run(push_id, now=t0)
        li = (await rig.tasks(push_id))["li"]
        assert li.remind_at == t0 + timedelta(minutes=10)  # urgent: the setting's 10
        msgid = str(li.msgid)

        await rig.run(now=t0 + timedelta(minutes=9))
        assert rig.emulator.tasks[msgid].reminders == []
        async with rig.resources.db() as session:
            assert await unconfirmed_groups(session, None) == []

        # two runs at once (two workers' crons), then later runs: one reminder each
        at = t0 + timedelta(minutes=10)
        await asyncio.gather(rig.run(now=at), rig.run(now=at))
        for minutes in (11, 25):
            await rig.run(now=t0 + timedelta(minutes=minutes))
        assert len(rig.emulator.tasks[msgid].reminders) == 1
        zhang = str((await rig.tasks(push_id))["zhang"].msgid)
        assert len(rig.emulator.tasks[zhang].reminders) == 1  # zhang did not confirm either
        async with rig.resources.db() as session:
            notices = list(await session.scalars(select(StaffNotice)))
            sms = list(
                await session.scalars(
                    select(SandboxMessage).where(SandboxMessage.recipient == KEEPER_PHONE)
                )
            )
            listed = await unconfirmed_groups(session, None)
        # the keeper of li's group was told once; zhang's groups have no keeper
        assert [(n.subject, n.status) for n in notices] == [(f"group_task:{li.id}", "sent")]
        assert len(sms) == 1 and "群主（li）" in sms[0].text
        assert sorted(g.chat for g in listed) == ["东山村客户群", "南岭村客户群", "西河村客户群"]
        assert {g.status for g in listed} == {"群主未确认（已提醒）"}

        await rig.run(now=t0 + timedelta(hours=24, minutes=1))
        rows = await rig.rows(push_id)
        assert {r.status for r in rows.values()} == {"failed"}
        assert {r.error_code for r in rows.values()} == {"owner_not_sent"}
        tasks = await rig.tasks(push_id)
        assert {t.status for t in tasks.values()} == {"settled"}


async def test_without_the_wecom_application_the_rows_fail_with_the_reason(
    sqlite_settings: Settings,
) -> None:
    async with running(sqlite_settings) as rig:
        push_id = await rig.push()
        rig.resources.settings = rig.resources.settings.model_copy(
            update={"wecom_app": type(rig.resources.settings.wecom_app)()}
        )
        await rig.run(push_id)
        rows = await rig.rows(push_id)
        assert {r.status for r in rows.values()} == {"failed"}
        assert {r.error_code for r in rows.values()} == {"not_configured"}
        assert rig.emulator.tasks == {}


async def test_tasks_not_made_within_the_cutoff_are_given_up(sqlite_settings: Settings) -> None:
    """No run made the push's tasks within the cutoff (the workers were down for a day):
    the rows fail with the reason, and nothing is created a day late."""
    async with running(sqlite_settings) as rig:
        push_id = await rig.push()
        t0 = utcnow()
        await rig.run(now=t0 + timedelta(hours=24, minutes=1))  # the cron finds the push
        rows = await rig.rows(push_id)
        assert {r.status for r in rows.values()} == {"failed"}
        assert {r.error_code for r in rows.values()} == {"not_created"}
        assert rig.emulator.tasks == {}
        await rig.run(now=t0 + timedelta(hours=24, minutes=2))
        assert rig.emulator.tasks == {}


async def test_groups_wecom_refuses_fail_at_once_with_the_reason(settings: Settings) -> None:
    """A group WeCom will not take (dismissed before the task) fails when the task is
    made; when none of an owner's groups is left, the whole task fails with the code."""
    async with running(settings) as rig:
        rig.emulator.dismissed.update({"wrZ2", "wrL1"})
        push_id = await rig.push()
        await rig.run(push_id)
        rows = await rig.rows(push_id)
        zhang = (await rig.tasks(push_id))["zhang"]
        assert (rows["wrZ1"].status, rows["wrZ1"].provider_id) == ("waiting", zhang.msgid)
        assert (rows["wrZ2"].status, rows["wrZ2"].error_code) == ("failed", "refused")
        assert rows["wrZ2"].error_message and "群已解散" in rows["wrZ2"].error_message
        li = (await rig.tasks(push_id))["li"]
        assert (li.status, li.error_code) == ("failed", "41048")
        assert (rows["wrL1"].status, rows["wrL1"].error_code) == ("failed", "41048")
        assert sorted(t.sender for t in rig.emulator.tasks.values()) == ["zhang"]
