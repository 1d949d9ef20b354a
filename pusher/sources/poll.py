"""Polling: one source now (or as a dry run), and the scheduled job over the sources due.

A poll reads the source (the first page conditionally: a 304 means nothing new on the
list), reads the detail pages of links not seen before, re-checks a few known entries
each time (oldest check first, conditionally: a changed page makes a correction draft,
a 404/410 flags it gone) and records the outcome on the source. A failure is a sentence
on the source (``last_error``), never an exception out of the job: the next source is
polled all the same. A dry run does the same work in a transaction that is rolled back
and answers what it would have created.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from pusher.db import SessionFactory, transaction
from pusher.models import Source, SourceEntry, utcnow
from pusher.sources.config import Kind, SourceConfig
from pusher.sources.feed import read_feed
from pusher.sources.fetch import Fetcher, FetchError, Page, fetcher_for
from pusher.sources.found import ExtractError, Found
from pusher.sources.htmlpages import read_detail, read_list
from pusher.sources.jsonsrc import read_json
from pusher.sources.store import mark_gone, preview_row, record

log = logging.getLogger(__name__)
#: known entries whose page is read again on each poll (a changed or vanished notice)
RECHECK = 5
#: sources polled at once by one job run
CONCURRENCY = 8


@dataclass
class Report:
    """What one poll found and did."""

    source_id: int
    outcomes: Counter[str] = field(default_factory=Counter)
    not_modified: bool = False
    error: str | None = None
    problems: list[str] = field(default_factory=list)
    preview: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "source_id": self.source_id,
            "outcomes": dict(self.outcomes),
            "not_modified": self.not_modified,
            "error": self.error,
            "problems": self.problems,
            "preview": self.preview,
        }


@dataclass
class _Read:
    found: list[Found] = field(default_factory=list)
    first: Page | None = None
    problems: list[str] = field(default_factory=list)


async def poll_source(
    db: SessionFactory, fetcher: Fetcher, source_id: int, *, max_body_chars: int,
    dry_run: bool = False,
) -> Report:  # fmt: skip
    """Poll one source; its row records the outcome (unless ``dry_run``)."""
    report = Report(source_id)
    async with db() as session:
        source = await session.get_one(Source, source_id)
        known = set((await session.scalars(
            select(SourceEntry.url).where(SourceEntry.source_id == source_id)
        )).all())  # fmt: skip
        stale = (await session.scalars(
            select(SourceEntry).where(
                SourceEntry.source_id == source_id, SourceEntry.gone_at.is_(None)
            ).order_by(SourceEntry.checked_at, SourceEntry.id).limit(RECHECK)
        )).all()  # fmt: skip
    read = _Read()
    try:
        read = await _read(fetcher, source, known=known, fresh=dry_run)
    except (FetchError, ExtractError) as exc:
        report.error = str(exc)[:500]
    report.not_modified = read.first is not None and read.first.status == 304
    report.problems = read.problems
    async with transaction(db) as session:
        source = await session.get_one(Source, source_id)
        for found in read.found:
            outcome = await record(session, source, found, max_body_chars=max_body_chars)
            report.outcomes[outcome] += 1
            report.preview.append(preview_row(found, outcome))
        if report.error is None:
            await _recheck(session, fetcher, source, stale, report, max_body_chars)
        _note(source, read, report)
        if dry_run:
            await session.rollback()
    return report


def _note(source: Source, read: _Read, report: Report) -> None:
    now = utcnow()
    source.last_fetch_at = now
    source.last_error = report.error or ("；".join(report.problems)[:500] or None)
    if report.error is None:
        source.last_ok_at = now
    if read.first is not None and read.first.status == 200:
        source.etag, source.last_modified = read.first.etag, read.first.last_modified
    if not report.not_modified and report.error is None:
        source.items_found = len(read.found)
    source.items_created += report.outcomes["new"] + report.outcomes["correction"]


async def _read(fetcher: Fetcher, source: Source, *, known: set[str], fresh: bool) -> _Read:
    """Read the source: new notices (and, for feeds and JSON, every listed one)."""
    config = SourceConfig.model_validate(source.config)
    first = await fetcher.get(
        source.url,
        etag=None if fresh else source.etag,
        last_modified=None if fresh else source.last_modified,
    )
    read = _Read(first=first)
    if first.status == 304:
        return read
    if source.kind == Kind.RSS:
        read.found = await asyncio.to_thread(read_feed, first.body, url=first.url)
    elif source.kind == Kind.JSON:
        read.found = await asyncio.to_thread(read_json, first.body, url=first.url, config=config)
        if config.fetch_detail:
            fresh_ones = [f for f in read.found if f.url not in known]
            read.found = await _details(fetcher, read, fresh_ones, config)
    else:
        links = [f for f in await _listed(fetcher, read, config) if f.url not in known]
        read.found = await _details(fetcher, read, links, config)
    return read


async def _listed(fetcher: Fetcher, read: _Read, config: SourceConfig) -> list[Found]:
    """The links of the list pages, following pagination to ``max_pages`` (a further
    page that fails is a problem noted on the source; the first page's links count)."""
    assert read.first is not None
    links: dict[str, Found] = {}
    queue, seen, page = [read.first.url], {read.first.url}, read.first
    for number in range(config.max_pages):
        if number:
            try:
                page = await fetcher.get(queue[number])
            except FetchError as exc:
                read.problems.append(f"第 {number + 1} 页：{exc}")
                break
        listed = await asyncio.to_thread(read_list, page.text(), url=page.url, config=config)
        for found in listed.links:
            links.setdefault(found.url, found)
        queue += [u for u in listed.next_urls if u not in seen]
        seen.update(listed.next_urls)
        if len(queue) <= number + 1:
            break
    return list(links.values())


async def _details(
    fetcher: Fetcher, read: _Read, listed: list[Found], config: SourceConfig
) -> list[Found]:
    """Each listed notice with its detail page read (a page that fails is a problem
    noted on the source; the others go on)."""
    found = []
    for link in listed:
        try:
            page = await fetcher.get(link.url)
            detail = await asyncio.to_thread(read_detail, page.text(), url=link.url, config=config)
        except (FetchError, ExtractError) as exc:
            read.problems.append(f"{link.title[:40]}：{exc}")
            continue
        detail.published_at = detail.published_at or link.published_at
        detail.index_number = detail.index_number or link.index_number
        found.append(detail)
    return found


async def _recheck(
    session: Any, fetcher: Fetcher, source: Source, stale: Any, report: Report, limit: int
) -> None:
    """Read a few known entries again: changed → correction, 404/410 → gone."""
    config = SourceConfig.model_validate(source.config)
    for old in stale:
        entry = await session.get(SourceEntry, old.id)
        try:
            page = await fetcher.get(entry.url, etag=entry.etag, last_modified=entry.last_modified)
        except FetchError as exc:
            if exc.status in (404, 410):
                await mark_gone(session, entry, now=utcnow())
                report.outcomes["gone"] += 1
            continue
        entry.checked_at = utcnow()
        if page.status == 304 or source.kind != Kind.HTML:
            continue
        entry.etag, entry.last_modified = page.etag, page.last_modified
        try:
            found = await asyncio.to_thread(read_detail, page.text(), url=entry.url, config=config)
        except ExtractError:
            continue
        outcome = await record(session, source, found, max_body_chars=limit)
        report.outcomes[outcome] += 1
        if outcome != "unchanged":
            report.preview.append(preview_row(found, outcome))


async def due_sources(db: SessionFactory, *, now: datetime) -> list[int]:
    """Enabled sources whose interval has passed since their last fetch."""
    async with db() as session:
        rows = (await session.execute(
            select(Source.id, Source.last_fetch_at, Source.interval_minutes)
            .where(Source.enabled.is_(True))
        )).all()  # fmt: skip
    return [
        sid
        for sid, last, minutes in rows
        if last is None or last + timedelta(minutes=minutes) <= now + timedelta(seconds=5)
    ]


async def poll_due(db: SessionFactory, fetcher: Fetcher, *, max_body_chars: int) -> list[Report]:
    """Poll every due source, a few at once; each one's failure stays its own."""
    slots = asyncio.Semaphore(CONCURRENCY)

    async def one(source_id: int) -> Report:
        async with slots:
            return await poll_source(db, fetcher, source_id, max_body_chars=max_body_chars)

    due = await due_sources(db, now=utcnow())
    return list(await asyncio.gather(*(one(s) for s in due)))


async def poll_sources(ctx: dict[str, Any]) -> dict[str, int]:
    """The scheduled job (arq cron each minute; the embedded runner likewise)."""
    resources = ctx["resources"]
    fetcher = fetcher_for(resources.http, resources.settings.source_hosts)
    reports = await poll_due(
        resources.db, fetcher, max_body_chars=resources.settings.max_body_chars
    )
    total: Counter[str] = Counter()
    for report in reports:
        total.update(report.outcomes)
        total["errors"] += report.error is not None
    total["sources"] = len(reports)
    return dict(total)
