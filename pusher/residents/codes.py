"""SMS confirmation codes: 6 digits, valid a few minutes, a few tries, rationed.

A code is stored as an HMAC of the code and the number (keyed by the secret key), never
in clear. Limits (per phone number and per client address): one code a minute,
``codes_per_hour`` an hour a number, ``codes_per_address_hour`` an address; a code is
refused after ``code_tries`` wrong tries (the last code of an openid counts).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.errors import InvalidInput, UserError
from pusher.models import VerifyCode
from pusher.settings import WxSettings
from subscriptions.importer import PHONE  # mainland mobile numbers, as the roster takes them

CODE = re.compile(r"^[0-9]{6}$")


class Refused(UserError):
    """A code request or try refused by a limit; audited by the caller (``action``)."""

    status = 429

    def __init__(self, message: str, *, action: str) -> None:
        super().__init__(message)
        self.action = action


def digest(secret: str, phone: str, code: str) -> str:
    """The keyed digest a code is kept as."""
    return hmac.new(secret.encode(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def check_phone(phone: str) -> str:
    """A mainland mobile number (11 digits), else a 422 in Chinese."""
    phone = phone.strip().replace(" ", "").replace("-", "")
    if not PHONE.match(phone):
        raise InvalidInput("请填写 11 位手机号码。", field="phone")
    return phone


async def _count(session: AsyncSession, *where: object, since: datetime) -> int:
    query = select(func.count()).select_from(VerifyCode).where(*where)
    return await session.scalar(query.where(VerifyCode.created_at >= since)) or 0


async def _check_limits(
    session: AsyncSession, phone: str, address: str, wx: WxSettings, now: datetime
) -> None:
    if await _count(session, VerifyCode.phone == phone, since=now - timedelta(minutes=1)):
        raise Refused("验证码发送太频繁，请 1 分钟后再试。", action="wx.code_flood")
    hour = now - timedelta(hours=1)
    if await _count(session, VerifyCode.phone == phone, since=hour) >= wx.codes_per_hour:
        raise Refused("这个号码本小时获取验证码次数已达上限，请稍后再试。", action="wx.code_flood")
    if address and await _count(session, VerifyCode.address == address, since=hour) >= (
        wx.codes_per_address_hour
    ):
        raise Refused("获取验证码次数过多，请稍后再试。", action="wx.code_flood")


async def issue(
    session: AsyncSession,
    *,
    phone: str,
    openid: str,
    name: str,
    proxy: bool,
    address: str,
    wx: WxSettings,
    secret: str,
    now: datetime,
) -> tuple[VerifyCode, str]:
    """A new code for ``phone`` (the row, in ``session``, and the code to send)."""
    await _check_limits(session, phone, address, wx, now)
    code = f"{secrets.randbelow(10**6):06d}"
    row = VerifyCode(
        phone=phone,
        openid=openid,
        address=address[:64],
        digest=digest(secret, phone, code),
        name=name,
        proxy=proxy,
        created_at=now,
        expires_at=now + timedelta(seconds=wx.code_ttl_seconds),
    )
    session.add(row)
    await session.flush()
    return row, code


@dataclass(frozen=True)
class Tried:
    """The outcome of one try: the code's row when it matched, else why not."""

    row: VerifyCode | None
    error: str = ""
    action: str = ""


async def try_code(
    session: AsyncSession, *, openid: str, code: str, wx: WxSettings, secret: str, now: datetime
) -> Tried:
    """Count a try of ``code`` against the openid's latest code (commit even when wrong)."""
    row = await session.scalar(
        select(VerifyCode)
        .where(VerifyCode.openid == openid, VerifyCode.used.is_(False))
        .order_by(VerifyCode.id.desc())
        .limit(1)
    )
    if row is None or row.expires_at <= now:
        return Tried(None, "验证码已过期或不存在，请重新获取。", "wx.code_expired")
    if row.tries >= wx.code_tries:
        return Tried(None, "验证码错误次数过多，请重新获取。", "wx.code_guessing")
    row.tries += 1
    good = CODE.match(code.strip()) and hmac.compare_digest(
        row.digest, digest(secret, row.phone, code.strip())
    )
    if not good:
        left = wx.code_tries - row.tries
        why = (
            f"验证码不正确，还可以再试 {left} 次。" if left else "验证码错误次数过多，请重新获取。"
        )
        return Tried(None, why, "wx.code_wrong")
    row.used = True
    return Tried(row)
