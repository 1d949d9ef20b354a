"""A child receives for an elderly parent (代收), once per push per person; a resident's
question reaches the grid worker, whose answer arrives as a customer-service message
inside WeChat's 48-hour window and by SMS outside it; urgent words flag a message."""

from __future__ import annotations

import re
import time

from sqlalchemy import select

from channels.base import ChannelKind
from channels.emulators import wechat
from pusher.models import Delivery, Region, Resident, ResidentMessage
from pusher.pipeline.dispatch import dispatch
from pusher.residents.scenes import scene_for
from pusher.runtime.jobs import process_item
from pusher.settings import Settings
from tests.spine.flow import publish
from tests.wx.rig import Phone, WxRig, code_in, console, console_form, running

CHILD = "oLiMingChild0000000001"
PARENT_PHONE, CHILD_PHONE = "13700000002", "13700000003"


async def _first_grid(rig: WxRig) -> tuple[Region, Region]:
    async with rig.resources.db() as db:
        grid = await db.scalar(select(Region).where(Region.kind == "grid").order_by(Region.path))
        assert grid is not None and grid.parent_id is not None
        village = await db.get(Region, grid.parent_id)
    assert village is not None
    return grid, village


async def _bind(rig: WxRig, phone: Phone, name: str, number: str, *, proxy: bool) -> str:
    form = {"name": name, "phone": number} | ({"proxy": "on"} if proxy else {})
    status, page = await phone.post("/wx/bind/code", form)
    assert status == 200 and "验证码已发送" in page, page
    status, page = await phone.post("/wx/bind/confirm", {"code": code_in(rig.sms_texts(number))})
    assert status == 200, page
    return page


async def test_child_receives_for_parent_once_per_push_marked(either_settings: Settings) -> None:
    async with running(either_settings) as rig:
        grid, village = await _first_grid(rig)
        parent = await rig.add_resident("李奶奶", PARENT_PHONE, grid.code)
        child = await rig.add_resident("李明", CHILD_PHONE, grid.code)
        await rig.event(CHILD, "subscribe", scene=scene_for(grid))
        phone = Phone(rig, CHILD)
        try:
            await phone.get("/wx/bind")
            assert "绑定成功" in await _bind(rig, phone, "李明", CHILD_PHONE, proxy=False)
            assert "绑定成功" in await _bind(rig, phone, "李奶奶", PARENT_PHONE, proxy=True)
        finally:
            await phone.close()
        item_id = await publish(
            rig.resources,
            region_code=village.code,
            title="高龄津贴发放通知",
            body="本月高龄津贴已发放，请查收。",
        )
        push_id = await process_item(rig.ctx, item_id)
        assert push_id is not None
        for _ in range(2):  # a second dispatch finds nothing left to send
            await dispatch(rig.resources.dispatcher(), push_id, ChannelKind.WECHAT)
        texts = rig.wechat_texts(CHILD)
        assert len(texts) == 2, texts
        assert sum("代李奶奶收" in t for t in texts) == 1
        async with rig.resources.db() as db:
            rows = list(
                await db.scalars(
                    select(Delivery).where(
                        Delivery.push_id == push_id, Delivery.resident_id.in_([parent, child])
                    )
                )
            )
        assert {(d.resident_id, d.recipient) for d in rows} == {(parent, CHILD), (child, CHILD)}
        assert (
            rig.sms_texts(PARENT_PHONE)[1:] == []
        )  # the code only: the parent's news went by WeChat


async def test_question_reaches_grid_worker_and_answer_arrives(either_settings: Settings) -> None:
    async with running(either_settings) as rig:
        grid, _ = await _first_grid(rig)
        me = await rig.add_resident("李明", CHILD_PHONE, grid.code)
        await rig.event(CHILD, "subscribe", scene=scene_for(grid))
        phone = Phone(rig, CHILD)
        try:
            await phone.get("/wx/bind")
            await _bind(rig, phone, "李明", CHILD_PHONE, proxy=False)
        finally:
            await phone.close()
        answer = await rig.event(CHILD, "text", content="村里的路灯坏了，什么时候修？")
        assert "已收到您的留言" in answer["body"]
        async with rig.resources.db() as db:
            message = await db.scalar(select(ResidentMessage))
        assert message is not None and message.resident_id == me and message.region_id == grid.id
        assert not message.urgent

        http = await console(rig, "grid_worker")
        try:
            async with http.get(f"{rig.base}/messages") as resp:
                assert "路灯坏了" in await resp.text()
            status, _ = await console_form(
                http, rig, f"/messages/{message.id}/answer", {"answer": "明天派人来修"}
            )
            assert status == 200
            assert (CHILD, "网格员回复：明天派人来修") in rig.wechat[wechat.STATE].users.custom

            await rig.event(CHILD, "text", content="修好了吗")
            rig.wechat[wechat.STATE].users.window[CHILD] = (time.time() - 49 * 3600, 0)
            async with rig.resources.db() as db:
                later = await db.scalar(select(ResidentMessage).order_by(ResidentMessage.id.desc()))
            assert later is not None and later.id != message.id
            status, _ = await console_form(
                http, rig, f"/messages/{later.id}/answer", {"answer": "已修好"}
            )
            assert status == 200
            # through the `answer` template (never the answer as free text): who answered
            # and where to read it
            sent = rig.sms_texts(CHILD_PHONE)[-1]
            assert sent.endswith("已回复您的留言，请查看 https://gk.example.gov.cn/wx/contact")
            assert "已修好" not in sent
            async with rig.resources.db() as db:
                later = await db.get(ResidentMessage, later.id)
            assert later is not None and later.answered_via == "sms"
        finally:
            await http.close()


def _reply_text(body: str) -> str:
    """The ``Content`` of a passive-reply XML body."""
    found = re.search(r"<Content><!\[CDATA\[(.*?)\]\]></Content>", body, re.S)
    assert found, body
    return found.group(1)


async def test_urgent_words_flag_the_message(either_settings: Settings) -> None:
    async with running(either_settings) as rig:
        answer = await rig.event("oStranger000000000001", "text", content="救命，我被困在家里了")
        assert "110" in _reply_text(answer["body"])
        calm = await rig.event("oStranger000000000001", "voice", content="请问社保怎么交")
        # the reply's text, not the XML around it (its CreateTime may hold "110")
        assert "110" not in _reply_text(calm["body"])
        async with rig.resources.db() as db:
            rows = list(await db.scalars(select(ResidentMessage).order_by(ResidentMessage.id)))
            residents = await db.scalar(
                select(Resident).where(Resident.openid == "oStranger000000000001")
            )
        assert [(m.urgent, m.resident_id) for m in rows] == [(True, None), (False, None)]
        assert rows[1].text.startswith("[语音]") and residents is None
