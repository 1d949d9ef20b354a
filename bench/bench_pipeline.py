"""Embedded-mode pipeline figures: planning and dispatch throughput, end-to-end time, memory.

Run: ``pusher bench pipeline [--quick]`` (or ``.venv/bin/python bench/bench_pipeline.py``).
Each size gets a fresh SQLite database and demo town (not timed). Then, for one
urgent town-wide item: planning (match + delivery rows written) and dispatch
through the sandbox are timed apart; a second item goes through the in-process
queue the way the service runs it, timed from approval to the last delivery
recorded. Peak RSS is the process's high-water mark so far.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import func, select

from channels.base import ChannelKind
from pusher.db import transaction
from pusher.demo.town import build_town
from pusher.models import Delivery, Push, Role, Urgency
from pusher.ops.migrate import upgrade
from pusher.pipeline import ingest, review
from pusher.pipeline.dispatch import dispatch
from pusher.runtime.context import Resources
from pusher.runtime.jobs import process_item
from pusher.runtime.queue import LocalQueue
from pusher.runtime.resources import bind_local, open_resources
from pusher.settings import QuietHours, Settings

SIZES = (2_000, 20_000)


def _settings(directory: Path) -> Settings:
    return Settings(
        database_url=SecretStr(f"sqlite+aiosqlite:///{directory / 'bench.db'}"),
        redis_url=None,
        jieba_cache_dir=Path("var/cache").resolve(),
        quiet_hours=QuietHours(start=0, end=0),
        _env_file=None,
    )


async def _approved_item(r: Resources, town_code: str, title: str) -> int:
    data = ingest.ItemIn(
        title=title,
        body="受强降雨影响，请全镇居民远离河道，低洼地带群众做好转移准备。",
        publisher="青山镇人民政府",
        region_code=town_code,
        urgency=Urgency.URGENT,
    )
    async with transaction(r.db) as session:
        item, _ = await ingest.create_item(session, data, max_body_chars=50_000)
        await review.submit(session, item, actor="publisher")
        await review.decide(
            session,
            item,
            step=review.Step.URGENT,
            decision=review.Decision.APPROVE,
            actor=review.Actor("leader", Role.LEADER),  # the one-step urgent path is a leader's
        )
    assert item.id is not None
    return item.id


class _NoDispatch:
    """A queue that drops the dispatch jobs planning enqueues (dispatch is timed apart)."""

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None) -> None:
        return None


async def _plan(r: Resources, item_id: int) -> tuple[int, float]:
    """Match and plan with the service's own job, without dispatching; (push id, seconds)."""
    ctx: dict[str, Any] = {"resources": replace(r, queue=_NoDispatch())}
    async with r.db() as session:
        await r.rulebook.current(session)  # jieba and the rules, loaded once per process
    started = time.perf_counter()
    push_id = await process_item(ctx, item_id)
    assert push_id is not None
    return push_id, time.perf_counter() - started


async def _end_to_end(r: Resources, town_code: str) -> float:
    """Approval → last delivery recorded, through the in-process queue."""
    approved = datetime.now(UTC)
    item_id = await _approved_item(r, town_code, "青山镇山洪预警（二）")
    await r.queue.enqueue("process_item", item_id, job_id=f"process:{item_id}")
    assert isinstance(r.queue, LocalQueue)
    await r.queue.join()
    async with r.db() as session:
        last = await session.scalar(
            select(func.max(Delivery.sent_at))
            .join(Push, Push.id == Delivery.push_id)
            .where(Push.item_id == item_id)
        )
    assert last is not None
    return (last.replace(tzinfo=UTC) - approved).total_seconds()


async def _measure(residents: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(Path(tmp))
        await asyncio.to_thread(upgrade, settings.database_url.get_secret_value())
        async with open_resources(settings) as r:
            bind_local(r)
            async with transaction(r.db) as session:
                town = await build_town(session, residents=residents)
            item_id = await _approved_item(r, town.town_code, "青山镇山洪预警")
            push_id, plan_s = await _plan(r, item_id)
            async with r.db() as session:
                planned = int((await session.get_one(Push, push_id)).planned)
            started = time.perf_counter()
            sent = 0
            for kind in ChannelKind:
                sent += (await dispatch(r.dispatcher(), push_id, kind)).sent
            dispatch_s = time.perf_counter() - started
            e2e_s = await _end_to_end(r, town.town_code)
    return {
        "residents": residents,
        "deliveries": planned,
        "plan_s": round(plan_s, 3),
        "planned_per_s": round(planned / plan_s),
        "sent": sent,
        "dispatch_s": round(dispatch_s, 3),
        "sent_per_s": round(sent / dispatch_s),
        "approval_to_last_s": round(e2e_s, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def run(*, quick: bool, smoke: bool = False) -> list[dict[str, object]]:
    """One row per town size (2,000 residents; 20,000 too unless ``quick``; 200 as a smoke
    test)."""
    sizes = [200] if smoke else SIZES[:1] if quick else SIZES
    return [asyncio.run(_measure(n)) for n in sizes]


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(json.dumps(row, ensure_ascii=False))
