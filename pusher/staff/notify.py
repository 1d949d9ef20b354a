"""Telling console users that something waits for them (待办提醒), once per round.

:func:`notify_due` asks :mod:`.waiting` what waits, and for each (subject, round, user)
not told yet writes a :class:`~pusher.models.StaffNotice` row *before* the message
goes: ``INSERT … ON CONFLICT DO NOTHING`` on the unique (subject, round, user), so a
job that runs twice, or two workers at once, tell a user once. A worker that dies
between the row and the send leaves it ``sending``: that user is not told of that
round (never twice is the rule, as for residents' deliveries).

The message goes through pusher's own channels: WeChat (a template message linking to
the page to act on) when the user left an openid and the account sends template
messages, else — or when WeChat refuses — SMS to their phone. The job that runs this
(:func:`pusher.runtime.jobs.notify_staff`) is enqueued by every sweep (15 s) and at once after
a review step (:func:`nudge`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import Accepted, Channel, ChannelError, ChannelKind, Message, Rejected
from pusher.db import SessionFactory, transaction
from pusher.job_queue import JobQueue
from pusher.models import StaffNotice, User, utcnow
from pusher.staff.relay import Waiting, relay_notices
from pusher.staff.waiting import Notice, contacts, message_notices, review_notices
from pusher.summary.sms_service import service_message
from pusher.summary.wechat import short_notice_fields

log = logging.getLogger(__name__)


SENT, FAILED, SENDING = "sent", "failed", "sending"
_BEIJING = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class Outbox:
    """What a notice needs to go out: the channels, the public address of the console,
    the WeChat account's mode and its template fields (name → kind), and the name an
    SMS template's ``org`` takes (the SMS signature's name)."""

    channels: Mapping[ChannelKind, Channel]
    public_url: str
    wechat_mode: str = "template"
    wechat_fields: Mapping[str, str] = field(default_factory=dict)
    org: str = ""


@dataclass
class Told:
    """How one run went: notices sent per channel, and failures."""

    sent: dict[str, int] = field(default_factory=dict)
    failed: int = 0


async def nudge(queue: JobQueue) -> None:
    """Run :func:`notify_due` now rather than at the next sweep (a review step was taken)."""
    await queue.enqueue("notify_staff", job_id=f"notify_staff:nudge:{time.time_ns()}")


async def notify_due(
    db: SessionFactory,
    outbox: Outbox,
    *,
    now: datetime,
    relays: Sequence[Waiting] | None = None,
) -> Told:
    """Tell every user what waits for them and was not told yet; returns the tally.
    ``relays``: the waiting relays this run already read (read here when not given)."""
    async with db() as session:
        users = await contacts(session)
        notices = await review_notices(session, users, now=now)
        notices += await message_notices(session, users, now=now)
        notices += await relay_notices(session, users, now=now, rows=relays)
        told = await _already(session, notices)
    by_id = {u.id: u for u in users}
    tally = Told()
    for notice in notices:
        for user_id in notice.user_ids:
            if (notice.subject, notice.round, user_id) in told:
                continue
            await _tell(db, outbox, notice, by_id[user_id], tally)
    return tally


async def tell(db: SessionFactory, outbox: Outbox, notice: Notice, users: list[User]) -> Told:
    """Tell ``users`` one notice now (each at most once per subject and round)."""
    tally = Told()
    for user in users:
        await _tell(db, outbox, notice, user, tally)
    return tally


async def _already(session: AsyncSession, notices: list[Notice]) -> set[tuple[str, int, int]]:
    subjects = sorted({n.subject for n in notices})
    if not subjects:
        return set()
    rows = await session.execute(
        select(StaffNotice.subject, StaffNotice.round, StaffNotice.user_id).where(
            StaffNotice.subject.in_(subjects)
        )
    )
    return {(s, r, u) for s, r, u in rows}


async def _tell(
    db: SessionFactory, outbox: Outbox, notice: Notice, user: User, tally: Told
) -> None:
    channel = _first_channel(outbox, user)
    row_id = await _claim(db, notice, user, channel)
    if row_id is None:  # another run took it
        return
    used, error = await _send(outbox, notice, user, row_id, channel)
    async with transaction(db) as session:
        values: dict[str, object] = {"status": SENT if error is None else FAILED, "channel": used}
        if error is None:
            values["sent_at"] = utcnow()
        else:
            values["error_code"] = error[:64]
        await session.execute(update(StaffNotice).where(StaffNotice.id == row_id).values(values))
    if error is None:
        tally.sent[used] = tally.sent.get(used, 0) + 1
    else:
        tally.failed += 1
        log.warning("staff notice not sent", extra={"notice": row_id, "code": error})


def _first_channel(outbox: Outbox, user: User) -> str:
    wechat_ok = outbox.wechat_mode == "template" and ChannelKind.WECHAT in outbox.channels
    if user.openid and wechat_ok:
        return ChannelKind.WECHAT.value
    return ChannelKind.SMS.value


async def _claim(db: SessionFactory, notice: Notice, user: User, channel: str) -> int | None:
    """Write the notice's row (unique per subject, round, user); None if it exists."""
    async with transaction(db) as session:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        row = {
            "subject": notice.subject,
            "round": notice.round,
            "user_id": user.id,
            "channel": channel,
            "status": SENDING,
            "created_at": utcnow(),
        }
        statement = (
            dialect.insert(StaffNotice)
            .values(row)
            .on_conflict_do_nothing(index_elements=["subject", "round", "user_id"])
            .returning(StaffNotice.id)
        )
        return await session.scalar(statement)


async def _send(
    outbox: Outbox, notice: Notice, user: User, row_id: int, channel: str
) -> tuple[str, str | None]:
    """Send by ``channel``, falling back from WeChat to SMS; (channel used, error or None)."""
    link = f"{outbox.public_url.rstrip('/')}{notice.path}"
    error: str | None = "no_channel"
    if channel == ChannelKind.WECHAT.value and user.openid:
        error = await _one(
            outbox, ChannelKind.WECHAT, _wechat(outbox, notice, user.openid, row_id, link)
        )
        if error is None or not user.phone:
            return channel, error
    sms = outbox.channels.get(ChannelKind.SMS)
    if user.phone and sms is not None:
        built = service_message(
            sms,
            "staff",
            key=f"staff-{row_id}",
            recipient=user.phone,
            text=f"{notice.text}：{link}",
            values={"org": outbox.org, "what": _what(notice), "page": notice.path},
        )
        if isinstance(built, ChannelError):  # refused locally: no template for staff notices
            return ChannelKind.SMS.value, built.code
        return ChannelKind.SMS.value, await _one(outbox, ChannelKind.SMS, built)
    if user.phone:
        return ChannelKind.SMS.value, "no_channel"
    return channel, error


def _what(notice: Notice) -> str:
    """The to-do for the ``staff`` template's ``what``: the notice's title, marked when
    it is a reminder (the residents' own words never go into an SMS variable)."""
    return notice.title + ("（再次提醒）" if notice.round > 1 else "")


def _wechat(outbox: Outbox, notice: Notice, openid: str, row_id: int, link: str) -> Message:
    now = datetime.now(_BEIJING)
    params = short_notice_fields(outbox.wechat_fields, [notice.title, notice.text], now)
    return Message(
        key=f"staff-{row_id}", recipient=openid, text=notice.text, params=params,
        url=link, title=notice.title,
    )  # fmt: skip


async def _one(outbox: Outbox, kind: ChannelKind, message: Message) -> str | None:
    channel = outbox.channels.get(kind)
    if channel is None:
        return "no_channel"
    try:
        outcome = (await channel.send([message]))[0]
    except ChannelError as exc:
        outcome = Rejected(message.key, exc)
    return None if isinstance(outcome, Accepted) else outcome.error.code
