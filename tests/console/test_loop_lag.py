"""Nothing slow on the event loop: a login (argon2), a draft's page with its push preview
(jieba over a long notice, on every GET), the first classification after start (the
tokenizer and the classifier are built, then the item is read). The xlsx exports have
theirs in ``test_exports_safe.py``.

The notice used is as long as an item may be (50,000 characters) and dense in the
domains' keywords, so that reading it takes tens of milliseconds of CPU: on the loop,
every check below fails (see :mod:`tests.looplag` for the two measures).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from itertools import cycle, islice

import pytest
from sqlalchemy import select

from pusher.db import transaction
from pusher.models import Group, Item, Region
from pusher.pipeline import ingest
from pusher.pipeline.match import find_matches
from pusher.pipeline.rulebook import Rulebook
from pusher.runtime.resources import open_resources
from pusher.settings import Settings
from rules.resources import domain_keywords
from tests.console.test_console import Console, _console, db_of
from tests.looplag import Held, watch
from tests.spine.conftest import Service, start

#: CPU seconds the loop's thread may spend between two 5 ms ticks (about 5 ms is seen).
#: On the loop, reading the long notice below takes 30-40 ms (matching and classifying,
#: or summarising), building the domain classifier about 20 ms.
MAX_CPU = 0.015
FIRST_CPU = 0.02
#: Seconds the loop may be held between two ticks, waits included (argon2 on the loop:
#: 0.2-0.8 s; in a thread, the loop waits at most for the GIL now and then).
MAX_STALL = 0.1
TITLE = "关于做好防汛救灾和低保资金发放工作的通知"


def _worked(held: Held) -> str:
    return (
        f"the loop's thread worked {held.cpu * 1000:.0f} ms at once"
        f" (garbage collection apart: {held.gc * 1000:.0f} ms at worst)"
    )


def long_notice(chars: int = 50_000) -> str:
    """A notice of ``chars`` characters that names every domain's keywords over and over,
    each followed by a short common word, so the matcher's jieba checks run everywhere."""
    words = [w for entries in domain_keywords().values() for w, _ in entries]
    glue = cycle("的和了在是，。、与及")
    text = "".join(w + next(glue) for w in islice(cycle(words), chars))
    return text[:chars]


@pytest.fixture
async def console(sqlite_settings: Settings) -> AsyncIterator[Console]:
    async for c in _console(sqlite_settings):
        yield c


@pytest.fixture
async def service(sqlite_settings: Settings) -> AsyncIterator[Service]:
    """A town's database and a fresh process's resources: no rule compiled yet."""
    town, tokens = await start(sqlite_settings)
    async with open_resources(sqlite_settings) as resources:
        yield Service(resources, town, tokens)


@pytest.mark.usefixtures("settled_heap")
async def test_logins_do_not_hold_the_event_loop(console: Console) -> None:
    async def three_logins() -> list[int]:
        return [
            await console.login("admin"),
            await console.login("admin", "not-the-password"),
            await console.login("nobody-here"),  # argon2 against the dummy hash
        ]

    await console.csrf()  # the login page's template is compiled once, on the loop
    # three rounds, the best judged: work on the loop holds it in each round, while a
    # pause the code does not cause (a full run once charged 17 ms to one) does not
    rounds = [await watch(three_logins()) for _ in range(3)]
    assert all(statuses == [302, 401, 401] for statuses, _ in rounds)
    held = min((h for _, h in rounds), key=lambda h: h.cpu)
    assert held.cpu < MAX_CPU, _worked(held)
    # argon2 hashes on four lanes in threads of its own and joins them: on the loop it
    # shows as a stall, not as the loop thread's CPU
    stalls = [h.stalled for _, h in rounds]
    assert None not in stalls, "this check needs /proc/thread-self/schedstat (Linux)"
    least = min(s for s in stalls if s is not None)
    assert least < MAX_STALL, f"the loop was held {least * 1000:.0f} ms"


async def _draft(console: Console) -> int:
    async with transaction(db_of(console)) as session:
        town = await session.scalar(select(Region.code).where(Region.kind == "town"))
        assert town is not None
        data = ingest.ItemIn(
            title=TITLE, body=long_notice(), publisher="青山镇人民政府", region_code=town
        )
        item, _ = await ingest.create_item(session, data, max_body_chars=50_000)
        assert item.id is not None
        return item.id


@pytest.mark.usefixtures("settled_heap")
async def test_a_drafts_page_with_its_preview_does_not_hold_the_event_loop(
    console: Console,
) -> None:
    item_id = await _draft(console)
    await console.login("reviewer")
    first = await console.client.get(f"/items/{item_id}")  # builds the rulebook
    assert first.status == 200 and "推送预览（审核前估算）" in await first.text()
    page, held = await watch(console.client.get(f"/items/{item_id}"))
    text = await page.text()
    assert page.status == 200 and "推送预览（审核前估算）" in text and "【政务公开】" in text
    assert held.cpu < MAX_CPU, _worked(held)


@pytest.mark.usefixtures("settled_heap")
async def test_the_first_classification_does_not_hold_the_event_loop(service: Service) -> None:
    r = service.resources
    assert r.rulebook.matcher is None and r.rulebook.classifier is None  # nothing built yet
    async with transaction(r.db) as session:
        data = ingest.ItemIn(
            title=TITLE,
            body=long_notice(),
            publisher="青山镇人民政府",
            region_code=service.town.town_code,
        )
        item, _ = await ingest.create_item(session, data, max_body_chars=50_000)

    async def first_reading(rulebook: Rulebook) -> list[str]:
        async with r.db() as session:
            draft = await session.get_one(Item, item.id)
            matcher = await rulebook.current(session)
            assert rulebook.classifier is not None
            domains, _ = await find_matches(
                session, draft, matcher=matcher, classifier=rulebook.classifier
            )
            return domains

    # Three first readings, each by a rulebook of its own (as a fresh process has), the
    # best one judged: work put on the loop holds it in every one of them, while a pause
    # the code does not cause (a full run's process now and then charged 30 ms to one
    # reading, garbage collection apart) does not come back three times.
    readings = [
        await watch(first_reading(Rulebook(cache_dir=r.rulebook.cache_dir))) for _ in range(3)
    ]
    assert all(domains for domains, _ in readings)  # classified: the notice declares none
    held = min((h for _, h in readings), key=lambda h: h.cpu)
    # The first reading builds the tokenizer, the classifier and the matcher in threads;
    # the classifier built on the loop holds it 25 ms or more, matching 35.
    each = [round(h.cpu * 1000) for _, h in readings]
    assert held.cpu < FIRST_CPU, f"{_worked(held)}; the three readings: {each} ms"


async def test_the_rule_test_refuses_more_than_it_may_read(console: Console) -> None:
    await console.login("publisher")
    async with db_of(console)() as db:
        group_id = await db.scalar(select(Group.id).order_by(Group.id))
    too_much = {
        "expressions": "\n".join(f"低保{n}" for n in range(201)),
        "title": "通知",
        "body": "",
    }
    for sample, said in (
        (too_much, "一次最多试 200 条规则"),
        ({**too_much, "expressions": "低保 | " + "救" * 2000}, "每条规则最多 2000 字"),
        ({**too_much, "expressions": "低保", "title": "通" * 201}, "标题最多 200 字"),
        ({**too_much, "expressions": "低保", "body": "救" * 50_001}, "正文最多 50000 字"),
    ):
        resp = await console.post(f"/rules/{group_id}/test", sample)
        assert resp.status == 400  # type: ignore[attr-defined]
        assert said in await resp.text()  # type: ignore[attr-defined]
