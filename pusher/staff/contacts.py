"""Where a console user is told what waits for them, and their consent to it.

The phone number and openid are the user's own (they give them; an administrator or
``pusher user set`` enters them); ``notify_consent_at`` records when they agreed to
be told. Without that consent they are never notified, whatever is on record.
"""

from __future__ import annotations

from datetime import datetime

from pusher.errors import InvalidInput
from pusher.models import User
from subscriptions.importer import OPENID, PHONE


def clean_phone(raw: str) -> str | None:
    """A mainland mobile number, or None for an empty field; else a 422 in Chinese."""
    phone = raw.strip().replace(" ", "").replace("-", "")
    if not phone:
        return None
    if not PHONE.match(phone):
        raise InvalidInput("手机号码应为 11 位数字（如 13800000000）。", field="phone")
    return phone


def clean_openid(raw: str) -> str | None:
    """A WeChat openid (as the official account gives it), or None for an empty field."""
    openid = raw.strip()
    if not openid:
        return None
    if not OPENID.match(openid):
        raise InvalidInput("微信 openid 格式不对：应为字母、数字、下划线或短横线。", field="openid")
    return openid


def set_contact(
    user: User, *, phone: str | None, openid: str | None, consent: bool, now: datetime
) -> dict[str, object]:
    """Keep the user's contact and consent (checked); what changed, for the audit row
    (numbers are not repeated there, only whether one is on record)."""
    user.phone, user.openid = clean_phone(phone or ""), clean_openid(openid or "")
    if not consent:
        user.notify_consent_at = None
    elif user.notify_consent_at is None:
        user.notify_consent_at = now
    return {
        "has_phone": user.phone is not None,
        "has_openid": user.openid is not None,
        "notify_consent": user.notify_consent_at is not None,
    }
