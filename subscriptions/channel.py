"""Channel choice per resident, as SQL expressions evaluated during planning.

WeChat when the resident follows the official account and has not refused it;
else SMS when they have a mobile number and gave consent and have not opted
out; else nobody can reach them over a channel and the delivery is recorded as
unreachable, so the grid worker sees them in the follow-up list.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, case, literal, null

from channels.base import ChannelKind
from pusher.models import DeliveryStatus, Resident

NO_CHANNEL = "none"
#: The channels :func:`channel_columns` can choose (group chats go over WeCom).
RESIDENT_CHANNELS = (ChannelKind.WECHAT, ChannelKind.SMS)


def wechat_ok() -> ColumnElement[bool]:
    return and_(
        Resident.openid.is_not(None),
        Resident.wechat_follows.is_(True),
        Resident.wechat_opt_out.is_(False),
    )


def sms_ok() -> ColumnElement[bool]:
    return and_(
        Resident.phone.is_not(None),
        Resident.sms_consent.is_(True),
        Resident.sms_opt_out.is_(False),
    )


def allowed(resident: Resident) -> dict[ChannelKind, str]:
    """The same rules for one resident in hand: the channels that may reach them
    now, with their addresses, in order of preference."""
    out: dict[ChannelKind, str] = {}
    if resident.openid and resident.wechat_follows and not resident.wechat_opt_out:
        out[ChannelKind.WECHAT] = resident.openid
    if resident.phone and resident.sms_consent and not resident.sms_opt_out:
        out[ChannelKind.SMS] = resident.phone
    return out


def channel_columns() -> tuple[ColumnElement[str], ColumnElement[str], ColumnElement[str]]:
    """(channel, recipient, status) for each resident row."""
    channel = case(
        (wechat_ok(), literal(ChannelKind.WECHAT.value)),
        (sms_ok(), literal(ChannelKind.SMS.value)),
        else_=literal(NO_CHANNEL),
    )
    recipient = case((wechat_ok(), Resident.openid), (sms_ok(), Resident.phone), else_=null())
    status = case(
        (wechat_ok(), literal(DeliveryStatus.QUEUED.value)),
        (sms_ok(), literal(DeliveryStatus.QUEUED.value)),
        else_=literal(DeliveryStatus.UNREACHABLE.value),
    )
    return channel.label("channel"), recipient.label("recipient"), status.label("status")
