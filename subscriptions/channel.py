"""Channel choice per resident, as SQL expressions evaluated during planning.

WeChat when the resident follows the official account and has not refused it;
else SMS when they have a mobile number and gave consent and have not opted
out; else nobody can reach them over a channel and the delivery is recorded as
unreachable, so the grid worker sees them in the follow-up list.

Where the account sends subscription notices (订阅通知, ``wechat.mode = subscribe``)
WeChat refuses a notice (43101) to a follower who has not accepted it in the
subscribe popup: WeChat is then chosen only while the follower's consent is on
record (``wx_follower.consent_at``, cleared by a rejection or an unfollow); the
others get SMS, or are unreachable. A long-term consent (长期订阅, open to
government-service accounts) stays; a one-time one (``wechat.subscribe_once``) is used up
by the notice it allows (:mod:`pusher.pipeline.consents`), so the next push goes by SMS
until the follower consents again.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, case, exists, literal, null

from channels.base import ChannelKind
from pusher.models import DeliveryStatus, Resident, WxFollower

NO_CHANNEL = "none"
#: The channels :func:`channel_columns` can choose (group chats go over WeCom).
RESIDENT_CHANNELS = (ChannelKind.WECHAT, ChannelKind.SMS)


def wechat_ok(*, consent: bool = False) -> ColumnElement[bool]:
    """WeChat may reach the resident (``consent``: and their notice consent is on record)."""
    clauses = [
        Resident.openid.is_not(None),
        Resident.wechat_follows.is_(True),
        Resident.wechat_opt_out.is_(False),
    ]
    if consent:
        clauses.append(
            exists().where(
                WxFollower.openid == Resident.openid,
                WxFollower.consent_at.is_not(None),
                WxFollower.following.is_(True),
            )
        )
    return and_(*clauses)


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


def channel_columns(
    *, consent: bool = False
) -> tuple[ColumnElement[str], ColumnElement[str], ColumnElement[str]]:
    """(channel, recipient, status) for each resident row (``consent``: WeChat only with
    the follower's subscription-notice consent)."""
    wechat = wechat_ok(consent=consent)
    channel = case(
        (wechat, literal(ChannelKind.WECHAT.value)),
        (sms_ok(), literal(ChannelKind.SMS.value)),
        else_=literal(NO_CHANNEL),
    )
    recipient = case((wechat, Resident.openid), (sms_ok(), Resident.phone), else_=null())
    status = case(
        (wechat, literal(DeliveryStatus.QUEUED.value)),
        (sms_ok(), literal(DeliveryStatus.QUEUED.value)),
        else_=literal(DeliveryStatus.UNREACHABLE.value),
    )
    return channel.label("channel"), recipient.label("recipient"), status.label("status")
