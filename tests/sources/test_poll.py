"""Polling county sources: drafts with the catalogue's fields, nothing twice, corrections,
conditional GETs, gone pages, merged duplicates, and sites that go wrong."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from pusher.models import Item, ItemStatus, Source
from pusher.sources.poll import poll_source
from tests.sources.conftest import Rig
from tests.sources.fixtures import BODY_1, BODY_2, BODY_3

LIMIT = 50_000


async def _poll(rig: Rig, source_id: int, *, dry_run: bool = False) -> dict[str, int]:
    report = await poll_source(
        rig.db, rig.fetcher, source_id, max_body_chars=LIMIT, dry_run=dry_run
    )
    assert report.error is None, report.error
    return dict(report.outcomes)


async def _items(rig: Rig) -> list[Item]:
    async with rig.db() as session:
        return list((await session.scalars(select(Item).order_by(Item.id))).all())


async def _source(rig: Rig, source_id: int) -> Source:
    async with rig.db() as session:
        return await session.get_one(Source, source_id)


async def test_first_fetch_of_a_trs_column_makes_drafts_with_the_catalogue_fields(rig: Rig) -> None:
    sid = await rig.source("html", "/trs/shjz/index.html")
    assert await _poll(rig, sid) == {"new": 2}  # page 1 and index_1.html (countPage = 2)
    first, second = await _items(rig)
    assert first.title == "关于做好2026年度城乡低保资金发放工作的通知"
    assert BODY_1 in first.body and "联系电话" in first.body
    assert first.status == ItemStatus.DRAFT and first.source_id == sid
    assert first.index_number == "360123-0101-2026-00015"
    assert first.doc_number == "某民发〔2026〕15号"
    assert first.publisher == "某某县民政局"
    assert first.domain == "社会救助" and first.region_id == rig.region_id
    assert first.published_at == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 08:00 Beijing
    assert first.formed_at == datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    base = rig.site.base + "/trs/shjz/202612/"
    assert first.attachments == [
        {"name": "附件1：名单.pdf", "url": base + "P020261201_1.pdf"},
        {"name": "附件2：资金表.xlsx", "url": base + "P020261201_1.xlsx"},
    ]
    assert first.interpretation == {"url": rig.site.base + "/trs/zcjd/202612/t20261201_91.html"}
    assert second.index_number == "360123-0101-2026-00014"
    source = await _source(rig, sid)
    assert source.last_error is None and source.items_found == 2 and source.last_ok_at


async def test_hanweb_and_index_table_sites_need_no_configuration(rig: Rig) -> None:
    hanweb = await rig.source("html", "/col/col1001/index.html")
    gk = await rig.source("html", "/gk/list.html")
    assert await _poll(rig, hanweb) == {"new": 1}
    assert await _poll(rig, gk) == {"new": 1}
    notice, table = await _items(rig)
    assert notice.title == "关于开展冬季安全生产大检查的通知" and notice.body == BODY_2
    assert notice.publisher == "某某县应急管理局"
    assert table.title == "某某镇2026年耕地地力保护补贴公示" and table.body == BODY_3
    assert table.index_number == "11360123MB0000000X/2026-00031"
    assert table.doc_number == "某镇发〔2026〕12号" and table.publisher == "某某镇人民政府"
    assert table.formed_at == datetime(2026, 12, 2, 16, 0, tzinfo=UTC)


async def test_feed_and_json_endpoint(rig: Rig) -> None:
    feed = await rig.source("rss", "/feed.xml")
    platform = await rig.source("json", "/api/list.json", config={
        "items_path": "data.list",
        "fields": {"title": "doctitle", "url": "docurl", "body": "content",
                   "published_at": "pubdate", "doc_number": "fileno", "index_number": "idxid"},
    })  # fmt: skip
    assert await _poll(rig, feed) == {"new": 1}
    assert await _poll(rig, platform) == {"new": 1}
    heating, elderly = await _items(rig)
    assert heating.title == "关于2026年冬季供暖保障工作的通告"
    assert heating.body == "全县冬季供暖自11月15日起，如有问题请拨打12345。"
    assert heating.published_at == datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
    assert elderly.source_url == rig.site.base + "/jsonsite/content/post_4001.html"
    assert elderly.doc_number == "县民字〔2026〕8号"
    assert elderly.index_number == "000014348/2026-00077"
    assert elderly.published_at == datetime(2026, 12, 4, 2, 0, tzinfo=UTC)


async def test_a_second_fetch_creates_nothing_and_sends_validators(rig: Rig) -> None:
    sid = await rig.source("html", "/trs/shjz/index.html")
    await _poll(rig, sid)
    rig.site.requests.clear()
    outcomes = await _poll(rig, sid)
    assert "new" not in outcomes and "correction" not in outcomes
    assert len(await _items(rig)) == 2
    list_page = [tag for path, tag in rig.site.requests if path == "/trs/shjz/index.html"]
    assert list_page and list_page[0] is not None  # If-None-Match sent: the 304 was honoured
    report = await poll_source(rig.db, rig.fetcher, sid, max_body_chars=LIMIT)
    assert report.not_modified


async def test_a_changed_page_after_approval_makes_a_linked_correction_draft(rig: Rig) -> None:
    sid = await rig.source("html", "/trs/shjz/index.html")
    await _poll(rig, sid)
    first = (await _items(rig))[0]
    async with rig.db() as session, session.begin():
        (await session.get_one(Item, first.id)).status = ItemStatus.APPROVED
    path = "/trs/shjz/202612/t20261201_1001.html"
    page = rig.site.pages[path]
    page.body = page.body.replace("12月10日前".encode(), "12月15日前".encode())
    assert await _poll(rig, sid) == {"correction": 1, "unchanged": 1}
    items = await _items(rig)
    assert len(items) == 3
    correction = items[-1]
    assert correction.corrects_id == first.id and correction.status == ItemStatus.DRAFT
    assert "12月15日前" in correction.body
    original = next(i for i in items if i.id == first.id)
    assert original.status == ItemStatus.APPROVED and "12月10日前" in original.body


async def test_a_page_that_disappears_is_flagged_not_deleted(rig: Rig) -> None:
    sid = await rig.source("html", "/trs/shjz/index.html")
    await _poll(rig, sid)
    del rig.site.pages["/trs/shjz/202611/t20261130_1002.html"]
    assert (await _poll(rig, sid)).get("gone") == 1
    gone = [i for i in await _items(rig) if i.gone_at is not None]
    assert [i.title for i in gone] == ["关于调整临时救助标准的通知"]
    assert len(await _items(rig)) == 2


async def test_the_same_notice_in_two_columns_is_one_item(lite: Rig) -> None:
    first = await lite.source("html", "/trs/shjz/index.html")
    await _poll(lite, first)
    column = lite.site.pages["/trs/shjz/index.html"].body.decode()
    lite.site.put("/other/index.html", column.replace("./2026", "/trs/shjz/2026"))
    second = await lite.source("html", "/other/index.html")
    assert await _poll(lite, second) == {"merged": 1}
    assert len(await _items(lite)) == 2


async def test_a_dry_run_answers_what_would_be_made_and_writes_nothing(lite: Rig) -> None:
    sid = await lite.source("html", "/trs/shjz/index.html")
    report = await poll_source(lite.db, lite.fetcher, sid, max_body_chars=LIMIT, dry_run=True)
    assert [row["outcome"] for row in report.preview] == ["new", "new"]
    assert report.preview[0]["doc_number"] == "某民发〔2026〕15号"
    assert await _items(lite) == []
    assert (await _source(lite, sid)).last_fetch_at is None


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/slow", "超时"),
        ("/error", "HTTP 500"),
        ("/huge", "5 MB"),
        ("/tofile", "http 或 https"),
        ("/broken.xml", "订阅源格式有误"),
    ],
)
async def test_a_failing_source_is_marked_in_error_and_the_others_go_on(
    rig: Rig, path: str, words: str
) -> None:
    bad = await rig.source("rss" if path.endswith(".xml") else "html", path)
    good = await rig.source("html", "/gk/list.html")
    report = await poll_source(rig.db, rig.fetcher, bad, max_body_chars=LIMIT)
    assert report.error is not None and words in report.error
    source = await _source(rig, bad)
    assert source.last_error == report.error and source.last_ok_at is None
    assert source.last_fetch_at is not None
    assert await _poll(rig, good) == {"new": 1}


async def test_a_host_outside_the_allowed_list_is_never_contacted(lite: Rig) -> None:
    # the tests' settings allow loopback only (PUSHER_SOURCE_HOSTS): nothing leaves the machine
    bad = await lite.source("html", "http://county.invalid/gk/list.html")
    report = await poll_source(lite.db, lite.fetcher, bad, max_body_chars=LIMIT)
    assert report.error is not None and "PUSHER_SOURCE_HOSTS" in report.error
    assert await _poll(lite, await lite.source("html", "/gk/list.html")) == {"new": 1}
