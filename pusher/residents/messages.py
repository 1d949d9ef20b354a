"""Residents' messages (回应关切): what they write back, for their grid worker to answer.

A message is attached to the resident it came from (or only to the openid or number when
unknown), to their region (so the grid workers of that region see it) and to the push
they most recently received, when one was recent. Urgent words flag it. The answer goes
back by a WeChat customer-service message while WeChat's 48-hour window is open, else
by SMS to the resident's number.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import Channel, ChannelError, ChannelKind, Message, Rejected
from pusher.errors import Conflict, InvalidInput, UserError
from pusher.models import (
    Delivery,
    Region,
    Resident,
    ResidentMessage,
    WxBinding,
    WxFollower,
    deliveries_of,
    utcnow,
)
from pusher.residents.wxapi import account, custom_text, out_of_window
from pusher.settings import WxSettings
from pusher.summary.sms_service import service_message

log = logging.getLogger(__name__)
OPEN, CLOSED = "open", "closed"
MAX_TEXT = 2000
MAX_ANSWER = 500
#: Where an SMS about an answer points the resident (the link's tail of the ``answer``
#: template, after .../wx/): their WeChat message page, the only resident page about
#: messages (it does not show answers yet).
ANSWER_PAGE = "contact"


class NotSent(UserError):
    status = 502


def is_urgent(text: str, wx: WxSettings) -> bool:
    """Whether ``text`` holds one of the urgent words (求助, 救命, 被困 …)."""
    return any(word and word in text for word in wx.urgent_words)


async def sender_resident(session: AsyncSession, channel: str, sender: str) -> Resident | None:
    """The resident a message came from: by phone (SMS), or the follower's own binding
    (WeChat; not someone they receive for), else any resident with that openid."""
    if channel == ChannelKind.SMS.value:
        query = select(Resident).where(Resident.phone == sender)
        return await session.scalar(query.order_by(Resident.id).limit(1))
    own = select(WxBinding.resident_id).where(
        WxBinding.openid == sender, WxBinding.status == "bound", WxBinding.proxy.is_(False)
    )
    resident = await session.scalar(select(Resident).where(Resident.id.in_(own)).limit(1))
    if resident is None:
        query = select(Resident).where(Resident.openid == sender).order_by(Resident.id)
        resident = await session.scalar(query.limit(1))
    return resident


async def _recent_push(session: AsyncSession, resident_id: int, days: int) -> int | None:
    since = utcnow() - timedelta(days=days)
    query = (
        select(Delivery.push_id)
        .where(deliveries_of([resident_id]), Delivery.created_at >= since)
        .order_by(Delivery.id.desc())
        .limit(1)
    )
    return await session.scalar(query)


async def take(
    session: AsyncSession, *, channel: str, sender: str, text: str, wx: WxSettings
) -> ResidentMessage:
    """Keep a resident's message (in ``session``) for their grid worker."""
    resident = await sender_resident(session, channel, sender)
    region_id = resident.region_id if resident is not None else None
    if region_id is None and channel == ChannelKind.WECHAT.value:
        follower = await session.get(WxFollower, sender)
        region_id = follower.region_id if follower is not None else None
    push_id = None
    if resident is not None and resident.id is not None and wx.answers_push_days:
        push_id = await _recent_push(session, resident.id, wx.answers_push_days)
    message = ResidentMessage(
        resident_id=resident.id if resident is not None else None,
        region_id=region_id,
        channel=channel,
        sender=sender[:64],
        text=text.strip()[:MAX_TEXT] or "（空消息）",
        push_id=push_id,
        urgent=is_urgent(text, wx),
    )
    session.add(message)
    await session.flush()
    if message.urgent:
        log.warning("urgent resident message", extra={"message_id": message.id})
    return message


async def _phone_of(session: AsyncSession, message: ResidentMessage) -> str | None:
    if message.channel == ChannelKind.SMS.value:
        return message.sender
    resident = await session.get(Resident, message.resident_id) if message.resident_id else None
    return resident.phone if resident is not None else None


def _window_open(follower: WxFollower | None, wx: WxSettings) -> bool:
    if follower is None:
        return False
    return follower.last_seen_at >= utcnow() - timedelta(hours=wx.reply_window_hours)


async def answer(
    session: AsyncSession,
    channels: dict[ChannelKind, Channel],
    message: ResidentMessage,
    text: str,
    *,
    by: str,
    wx: WxSettings,
) -> str:
    """Send the grid worker's answer; returns the channel it went by (wechat or sms)."""
    text = text.strip()
    if not text or len(text) > MAX_ANSWER:
        raise InvalidInput(f"请填写回复内容（{MAX_ANSWER} 字以内）。", field="answer")
    if message.status != OPEN:
        raise Conflict("这条留言已关闭。")
    via = await _send_answer(session, channels, message, text, wx)
    message.answer, message.answered_by, message.answered_via = text, by, via
    message.answered_at = utcnow()
    return via


async def _send_answer(
    session: AsyncSession,
    channels: dict[ChannelKind, Channel],
    message: ResidentMessage,
    text: str,
    wx: WxSettings,
) -> str:
    if message.channel != ChannelKind.SMS.value:
        follower = await session.get(WxFollower, message.sender)
        if _window_open(follower, wx) and ChannelKind.WECHAT in channels:
            try:
                await custom_text(account(channels), message.sender, f"网格员回复：{text}")
                return ChannelKind.WECHAT.value
            except ChannelError as exc:
                if not out_of_window(exc):
                    raise NotSent(f"微信回复发送失败（{exc.code}），请稍后再试。") from exc
            except UserError:
                pass  # no account configured: SMS
    phone = await _phone_of(session, message)
    if not phone or ChannelKind.SMS not in channels:
        raise Conflict("已超过微信 48 小时回复时限，且没有可用的手机号码：请电话或当面回复。")
    region = await session.get(Region, message.region_id) if message.region_id else None
    built = service_message(
        channels[ChannelKind.SMS],
        "answer",
        key=f"answer-{message.id}",
        recipient=phone,
        text=f"网格员回复：{text}",
        values={"org": region.name if region else "", "page": ANSWER_PAGE},
    )
    await _sms(channels[ChannelKind.SMS], built)
    return ChannelKind.SMS.value


async def _sms(sms: Channel, message: Message | ChannelError) -> None:
    if isinstance(message, ChannelError):  # refused locally: no template for answers
        log.warning("answer not sent", extra={"code": message.code, "reason": str(message)})
        raise NotSent(f"短信回复未发送（{message.code}）：{message.message}")
    try:
        outcome = (await sms.send([message]))[0]
    except ChannelError as exc:
        outcome = Rejected(message.key, exc)
    if isinstance(outcome, Rejected):
        raise NotSent(f"短信回复发送失败（{outcome.error.code}），请稍后再试。")


def close(message: ResidentMessage) -> None:
    """Close the message (answered, or settled in person)."""
    if message.status == CLOSED:
        raise Conflict("这条留言已关闭。")
    message.status, message.closed_at = CLOSED, utcnow()
