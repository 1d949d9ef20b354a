"""The item form's 公开目录信息 section and the item page that shows it to reviewers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from pusher.models import Item
from pusher.settings import Settings
from tests.console.test_console import ITEM, Console, _console, db_of

CATALOGUE = {
    "doc_number": "青政发〔2026〕7号",
    "index_number": "11330100-2026-00007",
    "basis": "《老年人权益保障法》<第33条>",
    "time_limit_days": "20",
    "audience": "全镇80周岁以上老年人",
    "disclosure_channels": "政府网站、政务公开栏",
    "attachments": "申请表 https://www.qingshan.gov.cn/fj/sqb.docx\nhttps://www.qingshan.gov.cn/fj/md.xls",
    "jd_url": "https://www.qingshan.gov.cn/jd/7.html",
    "jd_by": "镇民政办",
    "jd_contact": "0571-88001234",
}


@pytest.fixture
async def console(sqlite_settings: Settings) -> AsyncIterator[Console]:
    async for made in _console(sqlite_settings):
        yield made


async def test_form_stores_the_catalogue_and_reviewers_see_it(console: Console) -> None:
    await console.login("publisher")
    resp = await console.post(
        "/items/new", {**ITEM, **CATALOGUE, "then": "submit"}, allow_redirects=False
    )
    item_url = resp.headers["Location"]  # type: ignore[attr-defined]
    async with db_of(console)() as db:
        item = await db.scalar(select(Item))
    assert item is not None
    assert (item.doc_number, item.time_limit_days) == ("青政发〔2026〕7号", 20)
    assert item.disclosure_channels == ["政府网站", "政务公开栏"]
    assert item.attachments == [
        {"name": "申请表", "url": "https://www.qingshan.gov.cn/fj/sqb.docx"},
        {"name": "md.xls", "url": "https://www.qingshan.gov.cn/fj/md.xls"},
    ]
    assert item.interpretation is not None
    assert item.interpretation["url"] == CATALOGUE["jd_url"]
    assert item.interpretation["by"] == "镇民政办"
    await console.login("reviewer")
    page = await (await console.client.get(item_url)).text()
    catalogue = page.split('id="item-catalogue"')[1].split("</details>")[0]
    assert "青政发〔2026〕7号" in catalogue and "20 个工作日" in catalogue
    assert "&lt;第33条&gt;" in catalogue and "<第33条>" not in catalogue
    assert '<a href="https://www.qingshan.gov.cn/fj/sqb.docx"' in catalogue
    assert '<a href="https://www.qingshan.gov.cn/jd/7.html"' in catalogue
    assert "解读人：镇民政办" in catalogue and "联系方式：0571-88001234" in catalogue


async def test_a_bad_interpretation_link_is_shown_at_its_box(console: Console) -> None:
    await console.login("publisher")
    resp = await console.post(
        "/items/new", {**ITEM, "jd_url": "javascript:alert(1)", "time_limit_days": "二十"}
    )
    page = await resp.text()  # type: ignore[attr-defined]
    assert resp.status == 422  # type: ignore[attr-defined]
    assert 'id="err-jd_url">链接格式不正确' in page
    assert 'id="err-time_limit_days">时限应为工作日天数' in page
    assert "<details class=\"catalogue\" open>" in page
    async with db_of(console)() as db:
        assert await db.scalar(select(func.count()).select_from(Item)) == 0
