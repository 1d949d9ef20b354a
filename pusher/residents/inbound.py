"""Answers to what followers send the account: QR follows, texts, voice, clicks, consents.

A follow or scan through a village's or grid's QR code places the follower there and is
answered with a welcome linking to the binding page. A text that names a topic follows
it (``退订`` + topic unfollows it); anything else, and every voice message, becomes a
message for the grid worker. A subscription-notice consent is recorded. Each returns
the text of the passive reply, or None (answered ``success``).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import ChannelKind, Inbound
from pusher.models import Resident, Topic, WxBinding, utcnow
from pusher.residents import messages, scenes
from pusher.residents.choices import set_topic
from pusher.settings import Settings

UNSUBSCRIBE = ("退订", "取消订阅", "取消")


def _link(settings: Settings, path: str, label: str) -> str:
    return f'<a href="{settings.public_url.rstrip("/")}{path}">{label}</a>'


async def answer(session: AsyncSession, inbound: Inbound, settings: Settings) -> str | None:
    """Apply one inbound event (in ``session``); the passive reply's text or None."""
    if inbound.kind == "scene":
        return await _scene(session, inbound, settings)
    await scenes.seen(session, inbound.sender)
    if inbound.kind == "consent":
        follower = await scenes.seen(session, inbound.sender)
        follower.consent_at = utcnow() if inbound.value == "accept" else None
        return None
    if inbound.kind in ("text", "voice"):
        return await _message(session, inbound, settings)
    return None


async def _scene(session: AsyncSession, inbound: Inbound, settings: Settings) -> str | None:
    region = await scenes.region_for_scene(session, inbound.value)
    if region is None:
        return None
    await scenes.place(session, inbound.sender, region, inbound.value)
    town = await scenes.town_of(session, region)
    where = f"{town.name}{region.name}" if town is not None else region.name
    bind = _link(settings, "/wx/bind", "绑定身份")
    return (
        f"欢迎关注！您已加入{where}。请点击{bind}，核对姓名和手机号后，"
        "以后的政务通知会直接发到这里。也可以直接回复文字向网格员留言。"
    )


async def _own(session: AsyncSession, openid: str) -> list[Resident]:
    rows = await session.scalars(
        select(Resident)
        .join(WxBinding, WxBinding.resident_id == Resident.id)
        .where(WxBinding.openid == openid, WxBinding.status == "bound")
    )
    return list(rows)


async def _topic_command(session: AsyncSession, inbound: Inbound, settings: Settings) -> str | None:
    text = inbound.value.strip()
    off = next((w for w in UNSUBSCRIBE if text.startswith(w) and len(text) > len(w)), None)
    name = text[len(off) :].strip() if off else text
    if not name or len(name) > 64:
        return None
    topic = await session.scalar(select(Topic).where(Topic.name == name))
    if topic is None or topic.id is None or (not topic.active and not off):
        return None  # a deactivated topic can be left, not joined
    residents = await _own(session, inbound.sender)
    if not residents:
        return f"请先{_link(settings, '/wx/bind', '绑定身份')}，再订阅“{topic.name}”。"
    for resident in residents:
        assert resident.id is not None
        await set_topic(session, resident.id, topic.id, on=off is None)
    if off:
        return f"已退订“{topic.name}”。回复“{topic.name}”可重新订阅。"
    return f"已订阅“{topic.name}”，有相关通知会发给您。回复“退订{topic.name}”可取消。"


async def _message(session: AsyncSession, inbound: Inbound, settings: Settings) -> str:
    if inbound.kind == "text":
        command = await _topic_command(session, inbound, settings)
        if command is not None:
            return command
    text = inbound.value if inbound.kind == "text" else f"[语音] {inbound.value}".strip()
    taken = await messages.take(
        session, channel=ChannelKind.WECHAT.value, sender=inbound.sender, text=text, wx=settings.wx
    )
    reply = "已收到您的留言，网格员会尽快回复。"
    if taken.urgent:
        reply += "情况紧急请立即拨打 110、119 或 120。"
    return reply
