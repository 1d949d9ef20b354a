"""SMS replies that are not opt-outs: 订阅/恢复 takes SMS back (confirmed by SMS), anything
else becomes a message for the resident's grid worker. Opt-outs (TD, 退订 …) are applied
with the receipts (:mod:`pusher.pipeline.receipts`)."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import Channel, ChannelError, ChannelKind, Inbound, Message
from pusher.audit import record
from pusher.models import Resident, utcnow
from pusher.pipeline.readdress import follow_resident
from pusher.privacy import mask_phone
from pusher.residents import messages
from pusher.settings import Settings
from pusher.summary.sms_service import NO_TEMPLATE, registry_of

log = logging.getLogger(__name__)
RESUMED = "已恢复短信通知。回复TD可退订。"


async def apply_sms(session: AsyncSession, inbound: Inbound, settings: Settings) -> str | None:
    """Apply one reply (in ``session``); the confirmation to send back, or None."""
    if inbound.kind == "resume":
        return await _resume(session, inbound.sender)
    if inbound.kind == "text":
        await messages.take(
            session,
            channel=ChannelKind.SMS.value,
            sender=inbound.sender,
            text=inbound.value,
            wx=settings.wx,
        )
    return None


async def _resume(session: AsyncSession, phone: str) -> str | None:
    residents = list(await session.scalars(select(Resident).where(Resident.phone == phone)))
    if not residents:
        return None
    for resident in residents:
        resident.sms_opt_out = False
        await session.flush()
        await follow_resident(session, resident, utcnow())
        target = f"resident:{resident.id}"
        record(session, actor=f"sms:{mask_phone(phone)}", action="sms.resume", target=target)
    return RESUMED


async def confirm(sms: Channel | None, phone: str, text: str) -> None:
    """Send a confirmation (best effort: the reply itself is applied already)."""
    if sms is None:
        return
    if registry_of(sms) is not None:  # no template for confirmations: never free text
        log.warning("reply confirmation not sent", extra={"code": NO_TEMPLATE})
        return
    try:
        await sms.send(
            [Message(key=f"reply-{phone}-{int(utcnow().timestamp())}", recipient=phone, text=text)]
        )
    except ChannelError as exc:
        log.warning("reply confirmation not sent", extra={"code": exc.code})
