"""Run the demo: build the town, publish samples through review, run the pipeline, check."""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.console.accounts import set_user
from pusher.db import transaction
from pusher.demo.check import SENT, Recorded, problems, recorded
from pusher.demo.expected import Expected, expected_for
from pusher.demo.items import SAMPLES, Sample
from pusher.demo.town import Town, build_town
from pusher.models import Delivery, Item, Region, Role, SandboxMessage, Urgency
from pusher.ops.migrate import upgrade
from pusher.pipeline import ingest, review
from pusher.pipeline.dispatch import quiet_until
from pusher.runtime.context import Resources
from pusher.runtime.queue import LocalQueue
from pusher.runtime.resources import bind_local, open_resources
from pusher.settings import Settings
from pusher.web.auth import hash_token, new_token

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    sample: Sample
    expected: Expected
    got: Recorded


def reset_database(settings: Settings) -> None:
    """Start from an empty database (SQLite file only) and migrate it."""
    url = settings.database_url.get_secret_value()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database or "")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    upgrade(url)


DEMO_PASSWORD = "demo-password"  # printed with the tokens; the demo is not for real data


async def _users(r: Resources, town: Town) -> dict[str, str]:
    """Demo users (password ``DEMO_PASSWORD``) and their API tokens."""
    tokens = {}
    async with transaction(r.db) as session:
        for name, role, display, regions in (
            ("admin", Role.ADMIN, "管理员", ()),
            ("publisher", Role.PUBLISHER, "党政办 小王", ()),
            ("reviewer", Role.REVIEWER, "党政办 保密审查员 陈敏", ()),
            ("leader", Role.LEADER, "主管领导 李主任", ()),
            ("grid", Role.GRID_WORKER, "东山村网格员 小张", tuple(town.grid_codes[:4])),
        ):
            user = await set_user(
                session,
                username=name,
                role=role,
                password=DEMO_PASSWORD,
                display_name=display,
                region_codes=regions,
                actor="demo",
            )
            token = new_token()
            user.api_token_hash = hash_token(token)
            tokens[name] = token
    return tokens


async def _publish(r: Resources, town: Town, sample: Sample) -> int:
    code = town.town_code if sample.region == "town" else town.village_codes[int(sample.region)]
    data = ingest.ItemIn(
        title=sample.title,
        body=sample.body,
        publisher="青山镇人民政府",
        region_code=code,
        urgency=sample.urgency,
        disclosure=sample.disclosure,
        domain=sample.domain,
    )
    async with transaction(r.db) as session:
        item, _ = await ingest.create_item(session, data, max_body_chars=r.settings.max_body_chars)
        await review.submit(session, item, actor="publisher")
        assert item.id is not None
        approved = await _review(session, item, sample)
    if approved and review.pushable(item):
        await r.queue.enqueue("process_item", item.id, job_id=f"process:{item.id}")
    return item.id


REVIEWER = review.Actor("reviewer", Role.REVIEWER)
LEADER = review.Actor("leader", Role.LEADER)


async def _review(session: AsyncSession, item: Item, sample: Sample) -> bool:
    """The staff check by the reviewer, the approval (or urgent one step) by the leader."""
    if not sample.approve:
        await review.decide(
            session,
            item,
            step=review.Step.STAFF,
            decision=review.Decision.REJECT,
            actor=REVIEWER,
            opinion="涉及内部审议内容，不予公开",
        )
        return False
    if sample.urgency == "urgent":
        return await review.decide(
            session,
            item,
            step=review.Step.URGENT,
            decision=review.Decision.APPROVE,
            actor=LEADER,
            opinion="紧急预警，立即发布",
            publish_form="微信、短信、群聊",
        )
    await review.decide(
        session,
        item,
        step=review.Step.STAFF,
        decision=review.Decision.APPROVE,
        actor=REVIEWER,
        opinion="经审查不涉密",
    )
    return await review.decide(
        session,
        item,
        step=review.Step.LEADER,
        decision=review.Decision.APPROVE,
        actor=LEADER,
        opinion="同意发布",
        publish_form="微信、短信、群聊",
    )


async def run_demo(settings: Settings, *, out: TextIO = sys.stdout) -> tuple[bool, dict[str, str]]:
    """Build everything, run the pipeline to the end; returns (all expected recorded, tokens)."""
    await asyncio.to_thread(reset_database, settings)
    async with open_resources(settings) as r:
        bind_local(r)
        async with transaction(r.db) as session:
            town = await build_town(session)
        tokens = await _users(r, town)
        ids = [await _publish(r, town, sample) for sample in SAMPLES]
        assert isinstance(r.queue, LocalQueue)
        await r.queue.join()
        outcomes = [await _outcome(r, town, s, i) for s, i in zip(SAMPLES, ids, strict=True)]
        morning = quiet_until(datetime.now(UTC), settings.quiet_hours)
        ok = _report(outcomes, out, morning) and not r.queue.failures
        ok = await _exactly_once(r, out) and ok
    return ok, tokens


async def _outcome(r: Resources, town: Town, sample: Sample, item_id: int) -> Outcome:
    """Whom ``sample`` was meant for (from the town) and what was recorded for it."""
    async with r.db() as session:
        expected = await expected_for(session, town, sample)
        return Outcome(sample, expected, await recorded(session, item_id))


def _report(outcomes: list[Outcome], out: TextIO, morning: datetime | None) -> bool:
    """The table of items; ``morning``: the end of the quiet hours the demo runs in."""
    local = "" if morning is None else f"{morning.hour:02d}:00"  # Beijing time
    if morning is not None:
        out.write(f"现在是免打扰时段：普通信息留到 {local} 再发，紧急预警立即发出。\n")
    ok = True
    out.write(
        f"{'信息':<28}{'应达':>6}{'已记录':>8}{'已发送':>8}{'待发送':>8}{'无渠道':>8}"
        f"{'群聊':>8}  结果\n"
    )
    for o in outcomes:
        held = morning is not None and o.sample.urgency != Urgency.URGENT  # quiet hours
        wrong = problems(o.expected, o.got, held=held)
        ok = ok and not wrong
        later = f"，{local} 后发送" if held and o.expected.addresses else ""
        verdict = "不符" if wrong else f"正确{later}"
        out.write(
            f"{o.sample.title[:26]:<28}{len(o.expected.residents):>6}{len(o.got.statuses):>8}"
            f"{o.got.count(*SENT):>8}{o.got.count('queued'):>8}{o.got.count('unreachable'):>8}"
            f"{f'{o.got.chats_in(*SENT)}/{len(o.expected.chats)}':>8}  {verdict}\n"
        )
        out.writelines(f"    {problem}\n" for problem in wrong)
    return ok


async def _exactly_once(r: Resources, out: TextIO) -> bool:
    async with r.db() as session:
        sent = await session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.status.in_(["sent", "delivered"]))
        )
        kept = await session.scalar(select(func.count()).select_from(SandboxMessage))
        dupes = await session.scalar(
            select(func.count()).select_from(
                select(SandboxMessage.key)
                .group_by(SandboxMessage.key)
                .having(func.count() > 1)
                .subquery()
            )
        )
        regions = await session.scalar(select(func.count()).select_from(Region))
    out.write(f"\n地区 {regions} 个；已发送 {sent} 条，沙盒收件 {kept} 条，重复 {dupes} 条\n")
    return sent == kept and dupes == 0
