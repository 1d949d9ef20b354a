"""Personal data as each role may see it: phone numbers and WeChat openids masked.

One place for the console's pages and exports and for the JSON API, so the two show
the same. Admins and grid workers (who phone their own residents; their scope already
limits them to their grids) may see whole numbers; publishers and reviewers see
``138****1234``. Openids and group-chat keys are never needed whole on a page: they are
shown as ``oAbc****wxyz``.
"""

from __future__ import annotations

import re

from pusher.models import Role

FULL_ROLES = frozenset({Role.ADMIN, Role.GRID_WORKER})
_PHONE = re.compile(r"^(\d{3})\d{4}(\d{4})$")
HIDDEN = "****"


def sees_full(role: str) -> bool:
    """Whether ``role`` may see whole phone numbers (and ask the API for them)."""
    return role in FULL_ROLES


def mask_phone(phone: str | None) -> str:
    """138****1234; anything that is not an 11-digit number is hidden whole."""
    if not phone:
        return ""
    m = _PHONE.match(phone)
    return f"{m.group(1)}{HIDDEN}{m.group(2)}" if m else HIDDEN


def mask_key(value: str | None) -> str:
    """An openid or a robot key with only its first and last four characters left."""
    if not value:
        return ""
    return f"{value[:4]}{HIDDEN}{value[-4:]}" if len(value) >= 12 else HIDDEN


def mask_recipient(channel: str, value: str | None) -> str:
    """A delivery's address masked by its kind: a phone for SMS, a key otherwise."""
    return mask_phone(value) if channel == "sms" else mask_key(value)


def recipient_for(role: str, channel: str, value: str | None) -> str:
    """A delivery's address as ``role`` sees it on a page: whole SMS numbers for the
    roles that may see them, every other address masked."""
    if channel == "sms" and sees_full(role):
        return value or ""
    return mask_recipient(channel, value)
