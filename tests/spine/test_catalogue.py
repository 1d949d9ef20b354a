"""Catalogue fields and the policy interpretation: through the API, and on the public page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient, TestServer

from pusher.db import transaction
from pusher.models import Item
from pusher.runtime.queue import LocalQueue
from pusher.web.app import create_app
from tests.spine.conftest import Service
from tests.spine.flow import auth, item, publish

CATALOGUE: dict[str, object] = {
    "basis": "《中华人民共和国政府信息公开条例》第二十条",
    "time_limit_days": 20,
    "audience": "全镇居民",
    "disclosure_channels": ["政府网站", "政务公开栏"],
    "doc_number": "青政发〔2025〕12号",
    "index_number": "11330100-2025-00012",
    "interpretation": {
        "text": "一图读懂：低保标准每人每月提高40元。",
        "url": "https://www.qingshan.gov.cn/jd/2025/12.html",
        "attachment": {"name": "解读材料.pdf", "url": "https://www.qingshan.gov.cn/jd/12.pdf"},
        "by": "青山镇民政办",
        "contact": "0571-88001234",
    },
    "attachments": [
        {"name": "申请表.docx", "url": "https://www.qingshan.gov.cn/fj/sqb.docx"},
        {"name": "名单.xls", "url": "http://www.qingshan.gov.cn/fj/md.xls"},
    ],
}






async def test_catalogue_fields_and_interpretation_round_trip(
    client: TestClient[object, object], service: Service
) -> None:
    created = await client.post(
        "/api/v1/items", json=item(service, **CATALOGUE), headers=auth("publisher")
    )
    assert created.status == 201, await created.text()
    item_id = (await created.json())["id"]
    shown = await (await client.get(f"/api/v1/items/{item_id}", headers=auth("reviewer"))).json()
    assert {key: shown[key] for key in CATALOGUE} == CATALOGUE
    text_only = {"text": "政策解读全文", "by": "镇民政办"}
    changed = await client.put(
        f"/api/v1/items/{item_id}",
        json=item(service, interpretation=text_only, attachments=[]),
        headers=auth("publisher"),
    )
    assert changed.status == 200, await changed.text()
    again = await (await client.get(f"/api/v1/items/{item_id}", headers=auth("publisher"))).json()
    assert again["interpretation"] == text_only | {"url": None, "attachment": None, "contact": None}
    assert again["attachments"] == [] and again["doc_number"] is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"interpretation": {"url": "javascript:alert(1)"}}, "interpretation"),
        ({"interpretation": {"url": "ftp://www.qingshan.gov.cn/jd.html"}}, "interpretation"),
        ({"interpretation": {"by": "镇民政办"}}, "interpretation"),
        ({"attachments": [{"name": "表", "url": "data:text/html,<b>x</b>"}]}, "attachments"),
        ({"doc_number": "青政发\u202e号"}, "doc_number"),
        ({"time_limit_days": -1}, "time_limit_days"),
        ({"index_number": "9" * 65}, "index_number"),
    ],
)
async def test_bad_catalogue_input_is_a_422_naming_the_field(
    client: TestClient[object, object], service: Service, changes: dict[str, object], field: str
) -> None:
    answer = await client.post(
        "/api/v1/items", json=item(service, **changes), headers=auth("publisher")
    )
    assert answer.status == 422
    assert field in (await answer.json())["error"]


async def test_public_page_shows_numbers_interpretation_and_attachment_links(
    service: Service,
) -> None:
    r = service.resources
    item_id = await publish(
        r, region_code=service.town.town_code, title="低保标准调整", body="提高到620元。"
    )
    assert isinstance(r.queue, LocalQueue)
    await r.queue.join()
    async with transaction(r.db) as session:
        stored = await session.get_one(Item, item_id)
        stored.doc_number = "青政发<script>alert(1)</script>号"
        stored.index_number = "11330100-2025-00012"
        stored.formed_at = datetime(2025, 11, 2, 20, 0, tzinfo=UTC)  # 11-03 in China
        stored.basis = "《条例》第5条 & 附则"
        stored.interpretation = {
            "url": "https://www.qingshan.gov.cn/jd/12.html",
            "by": "镇民政办",
            "contact": "0571-88001234",
        }
        stored.attachments = [
            {"name": "申请表.docx", "url": "https://www.qingshan.gov.cn/fj/sqb.docx"},
            {"name": "坏链接", "url": "javascript:alert(2)"},
        ]
    client = TestClient(TestServer(create_app(r.settings, resources=r)))
    await client.start_server()
    try:
        page = await (await client.get(f"/p/{item_id}")).text()
    finally:
        await client.close()
    assert "发文字号：青政发&lt;script&gt;alert(1)&lt;/script&gt;号" in page
    assert "<script>" not in page
    assert "索引号：11330100-2025-00012" in page and "成文日期：2025-11-03" in page
    assert "依据：《条例》第5条 &amp; 附则" in page
    assert 'href="https://www.qingshan.gov.cn/jd/12.html"' in page
    assert "解读人：镇民政办" in page and "联系方式：0571-88001234" in page
    assert '<a href="https://www.qingshan.gov.cn/fj/sqb.docx"' in page
    assert ">申请表.docx</a>" in page
    assert "javascript:" not in page and "坏链接" not in page
