"""The 短信模板 page, and an item no approved SMS template fits: flagged on the review page
before approval, approved anyway, its SMS residents recorded failed with no_template and
nothing sent as free text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from channels.aliyun_sms import AliyunSmsSettings
from pusher.models import Delivery, Item
from pusher.settings import Settings
from pusher.web.keys import RESOURCES
from tests.console.test_console import ITEM, Console, _console, console, db_of

__all__ = ["console"]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "sms-templates"
#: an account with only an urgent template: a normal notice fits none
ONLY_URGENT = {
    "SMS_9": {
        "purpose": "urgent",
        "text": "紧急提醒：${title}，详见 https://gk.example.gov.cn/s/${code}",
        "variables": {"code": {"kind": "link_param", "max_len": 12}},
    }
}


def aliyun(**values: object) -> AliyunSmsSettings:
    # nothing listens there: a message that reached the provider would fail as "connect"
    return AliyunSmsSettings(
        access_key_id="k",
        access_key_secret=SecretStr("s"),
        sign_name="青山镇人民政府",
        base_url="http://127.0.0.1:9/",
        timeout_seconds=1,
        **values,  # type: ignore[arg-type]
    )


@pytest.fixture
async def aliyun_console(sqlite_settings: Settings) -> AsyncIterator[Console]:
    settings = sqlite_settings.model_copy(
        update={
            "aliyun_sms": aliyun(templates=ONLY_URGENT),
            "public_url": "https://gk.example.gov.cn",
            "cookie_secure": False,
        }
    )
    async for c in _console(settings):
        yield c


async def test_the_page_says_a_free_text_channel_needs_no_templates(console: Console) -> None:
    await console.login("admin")
    page = await (await console.client.get("/settings")).text()
    assert '<a href="/sms-templates"><b>短信模板</b></a>' in page
    page = await (await console.client.get("/sms-templates")).text()
    assert 'id="free-text"' in page
    assert "未登记已审核模板" in page  # the Aliyun account has none


async def test_an_item_no_template_fits_is_flagged_then_its_sms_fails_without_sending(
    aliyun_console: Console,
) -> None:
    c = aliyun_console
    await c.login("admin")
    page = await (await c.client.get("/sms-templates")).text()
    assert "SMS_9" in page and "紧急提醒" in page and "通过" in page
    assert 'id="free-text"' not in page
    # the purposes the account lacks (service messages included), and each purpose's use
    assert 'id="missing-aliyun"' in page
    assert "一般通知、截止提醒、会议通知、绑定验证码、工作人员待办提醒、留言回复提醒" in page
    assert 'id="purpose-code"' in page and "微信绑定的验证码" in page
    assert "请登录后台办理 https://gk.example.gov.cn/${page}" in page
    assert "请查看 https://gk.example.gov.cn/wx/${page}" in page

    await c.login("publisher")
    resp = await c.post("/items/new", {**ITEM, "then": "submit"}, allow_redirects=False)
    item_url = resp.headers["Location"]  # type: ignore[attr-defined]
    await c.login("reviewer")
    await c.post(f"{item_url}/review", {"step": "staff", "decision": "approve", "opinion": "同意"})
    await c.login("leader")
    page = await (await c.client.get(item_url)).text()
    assert 'id="sms-flag"' in page
    assert "没有适用于一般通知的短信模板" in page
    await c.post(
        f"{item_url}/review",
        {"step": "leader", "decision": "approve", "opinion": "同意发布", "publish_form": "短信"},
    )
    await c.client.server.app[RESOURCES].queue.join()  # type: ignore[attr-defined]
    async with db_of(c)() as db:
        item_id = await db.scalar(select(Item.id))
        sms = (await db.scalars(select(Delivery).where(Delivery.channel == "sms"))).all()
    assert item_id is not None and sms, "the demo town has SMS residents"
    assert {(d.status, d.error_code) for d in sms} == {("failed", "no_template")}
    assert all("没有适用于一般通知的短信模板" in (d.error_message or "") for d in sms)
    page = await (await c.client.get(item_url)).text()
    assert "未发送短信（无适用的已审核模板）" in page


async def test_the_page_warns_when_a_template_links_elsewhere(sqlite_settings: Settings) -> None:
    settings = sqlite_settings.model_copy(
        update={
            "aliyun_sms": aliyun(templates_file=str(DOCS / "aliyun.yaml")),
            "public_url": "https://pusher.example.org",
            "cookie_secure": False,
        }
    )
    async for c in _console(settings):
        await c.login("admin")
        page = await (await c.client.get("/sms-templates")).text()
        assert "SMS_480100004" in page and "会议通知" in page
        assert "与本系统短链接 https://pusher.example.org/s/ 不一致" in page
        assert 'id="missing-aliyun"' not in page  # the suggested file holds every purpose
        # a service template's link is checked against the site, not the short links
        assert "与本系统地址 https://pusher.example.org/ 不一致" in page
