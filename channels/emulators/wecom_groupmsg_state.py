"""What the customer-group mass-message emulator holds: tokens, owners and groups, tasks.

The HTTP side is :mod:`channels.emulators.wecom_groupmsg`; this module is the plain
state and its rules, so tests can read and steer it directly. Facts behind the rules
and which of them are unconfirmed: ``docs/wecom-groupmsg.md``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import secrets
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from channels.emulators.accounts import WeComAccount
from channels.emulators.common import Faults, Inbox

#: The day a group's daily limit counts in (Beijing time; unconfirmed which clock WeCom uses).
BEIJING = timezone(timedelta(hours=8))
#: get_groupmsg_send_result statuses (documented).
SENT, NOT_FRIEND, OVER_LIMIT = 1, 2, 3
#: get_groupmsg_task statuses (documented: 0 未发送, 1 已确认, 2 已发送).
TASK_WAITING, TASK_SENT = 0, 2
MAX_CHAT_IDS, MAX_TEXT_BYTES, MAX_ATTACHMENTS = 2000, 4000, 9
ATTACHMENT_TYPES = frozenset({"image", "link", "miniprogram", "video", "file"})
REMINDERS_PER_DAY = 3


class ApiError(Exception):
    """An errcode the emulator answers with (HTTP 200, like the real service)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Task:
    """One mass-message task: one owner, their groups, the content; results once sent."""

    msgid: str
    sender: str
    chat_ids: list[str]
    text: str
    attachments: list[dict[str, Any]]
    created_at: float
    sent_at: float | None = None
    results: dict[str, int] = field(default_factory=dict)
    reminders: list[float] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        """The task as ``get_groupmsg_list_v2`` lists it (API-made tasks have no creator)."""
        return {
            "msgid": self.msgid,
            "create_time": str(int(self.created_at)),
            "create_type": 0,
            "text": {"content": self.text},
            "attachments": self.attachments,
        }


@dataclass
class GroupMsgEmulator:
    """The enterprise's side: credentials, owners' groups, tasks and what groups received.

    ``corp_id``/``corp_secret`` None accept any; ``owners`` None lets any owner send to
    any group. ``daily_limit`` mass messages a group may receive per Beijing day (None:
    no limit). ``confirm_after_seconds``: owners confirm by themselves after this delay
    (None: only ``confirm`` does). ``page_limit`` caps every page (to test paging).
    ``stall_after_create_seconds`` holds the answer of a task already created.
    """

    corp_id: str | None = None
    corp_secret: str | None = None
    owners: Mapping[str, frozenset[str]] | None = None
    daily_limit: int | None = 1
    confirm_after_seconds: float | None = None
    page_limit: int | None = None
    stall_after_create_seconds: float = 0.0
    token_ttl: int = 7200
    clock: Callable[[], float] = time.time
    faults: Faults = field(default_factory=Faults)
    inbox: Inbox = field(default_factory=Inbox)
    dismissed: set[str] = field(default_factory=set)
    tokens: dict[str, float] = field(default_factory=dict)
    token_uses: Counter[str] = field(default_factory=Counter)
    token_fetches: int = 0
    tasks: dict[str, Task] = field(default_factory=dict)
    received: Counter[tuple[str, date]] = field(default_factory=Counter)
    errors: Counter[int] = field(default_factory=Counter)
    background: set[asyncio.Task[None]] = field(default_factory=set)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def from_account(cls, account: WeComAccount | None, **options: Any) -> GroupMsgEmulator:
        """The emulator an account file describes (None: anything goes)."""
        if account is None:
            return cls(**options)
        return cls(account.corp_id, account.corp_secret, account.groups, **options)

    # --- tokens -----------------------------------------------------------------------

    def issue_token(self, corp_id: str, secret: str) -> tuple[str, int]:
        """``gettoken``: a new token (older ones stay valid until they expire)."""
        self.token_fetches += 1
        if not corp_id:
            raise ApiError(41002, "corpid missing")
        if self.corp_id is not None and corp_id != self.corp_id:
            raise ApiError(40013, "invalid corpid")
        if not secret:
            raise ApiError(41004, "corpsecret missing")
        if self.corp_secret is not None and secret != self.corp_secret:
            raise ApiError(40001, "invalid credential")
        token = secrets.token_urlsafe(48)
        self.tokens[token] = self.clock() + self.token_ttl
        return token, self.token_ttl

    def check_token(self, token: str) -> None:
        """``ApiError`` unless ``token`` is a live token (41001, 40014, 42001)."""
        if not token:
            raise ApiError(41001, "access_token missing")
        expires = self.tokens.get(token)
        if expires is None:
            raise ApiError(40014, "invalid access_token")
        limit = self.faults.token_expiry_after
        if expires <= self.clock() or (limit is not None and self.token_uses[token] >= limit):
            raise ApiError(42001, "access_token expired")
        self.token_uses[token] += 1

    def expire_tokens(self) -> None:
        """Every token issued so far expires now (tests: the refresh path)."""
        now = self.clock()
        self.tokens = {t: min(at, now) for t, at in self.tokens.items()}

    # --- tasks ------------------------------------------------------------------------

    def owns(self, sender: str, chat_id: str) -> bool:
        """Whether ``sender`` owns customer group ``chat_id``."""
        return self.owners is None or chat_id in self.owners.get(sender, frozenset())

    def day(self, at: float | None = None) -> date:
        """The Beijing calendar day of ``at`` (default: now)."""
        return (
            datetime.fromtimestamp(self.clock() if at is None else at, UTC)
            .astimezone(BEIJING)
            .date()
        )

    def full(self, chat_id: str, day: date) -> bool:
        """Whether ``chat_id`` has received its daily share of mass messages on ``day``."""
        return self.daily_limit is not None and self.received[(chat_id, day)] >= self.daily_limit

    def create(
        self, sender: str, chat_ids: Sequence[str], text: str, attachments: list[dict[str, Any]]
    ) -> tuple[Task, list[str]]:
        """A new task for ``sender``'s groups among ``chat_ids``; the refused ones (not
        theirs, dismissed, or full today). 41048 when none is left."""
        if self.owners is not None and sender not in self.owners:
            raise ApiError(40003, f"invalid userid {sender}")
        today = self.day()
        accepted: list[str] = []
        refused: list[str] = []
        for chat_id in dict.fromkeys(chat_ids):
            ok = self.owns(sender, chat_id) and chat_id not in self.dismissed
            (accepted if ok and not self.full(chat_id, today) else refused).append(chat_id)
        if not accepted:
            raise ApiError(41048, "no customer group to send to")
        msgid = f"msgGCAAAX{next(self._ids):08d}{secrets.token_hex(6)}"
        task = Task(msgid, sender, accepted, text, attachments, self.clock())
        self.tasks[msgid] = task
        return task, refused

    def confirm(self, msgid: str, sender: str) -> Task:
        """The owner sends task ``msgid`` (again: nothing changes). ``KeyError``: no such
        task of that owner."""
        task = self.tasks[msgid]
        if task.sender != sender:
            raise KeyError(sender)
        if task.sent_at is not None:
            return task
        task.sent_at = now = self.clock()
        today = self.day(now)
        for chat_id in task.chat_ids:
            task.results[chat_id] = self._deliver(task, chat_id, today)
        return task

    def _deliver(self, task: Task, chat_id: str, today: date) -> int:
        if chat_id in self.dismissed:
            return NOT_FRIEND
        if self.full(chat_id, today):
            return OVER_LIMIT
        self.received[(chat_id, today)] += 1
        self.inbox.add(chat_id, content_of(task))
        return SENT

    def remind(self, msgid: str) -> None:
        """Notify the owner again; at most 3 reminders per task in 24 h (45009 beyond)."""
        task = self.task(msgid)
        now = self.clock()
        task.reminders = [at for at in task.reminders if at > now - 86_400]
        if len(task.reminders) >= REMINDERS_PER_DAY:
            raise ApiError(45009, "remind limit reached: 3 per task in 24 hours")
        task.reminders.append(now)

    def task(self, msgid: Any) -> Task:
        """Task ``msgid``; 41046 when it is missing, 41047 when unknown."""
        if not isinstance(msgid, str) or not msgid:
            raise ApiError(41046, "msgid missing")
        if msgid not in self.tasks:
            raise ApiError(41047, "invalid msgid")
        return self.tasks[msgid]

    def snapshot(self) -> list[dict[str, Any]]:
        """Every task with its owner, groups and results (``/emulator/groupmsg/tasks``)."""
        return [
            {
                "msgid": t.msgid,
                "sender": t.sender,
                "chat_ids": t.chat_ids,
                "text": t.text,
                "sent_at": t.sent_at,
                "results": t.results,
                "reminders": len(t.reminders),
            }
            for t in self.tasks.values()
        ]


def content_of(task: Task) -> str:
    """What a group shows for ``task``: the text, then each link's URL on its own line."""
    links = [a["link"]["url"] for a in task.attachments if a.get("msgtype") == "link"]
    return "\n".join([task.text, *links])


def page(
    rows: list[dict[str, Any]],
    body: Mapping[str, Any],
    *,
    default: int,
    maximum: int,
    cap: int | None,
) -> tuple[list[dict[str, Any]], str]:
    """One page of ``rows`` by the body's ``limit`` and ``cursor``: ``(rows, next_cursor)``.

    A limit out of range takes the default, as documented; a cursor we did not issue
    is 50100.
    """
    limit = body.get("limit")
    size = limit if isinstance(limit, int) and 0 < limit <= maximum else default
    size = min(size, cap) if cap else size
    start = _offset(body.get("cursor"))
    chunk = rows[start : start + size]
    more = start + size < len(rows)
    return chunk, _cursor(start + size) if more else ""


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"emu:{offset}".encode()).decode()


def _offset(cursor: Any) -> int:
    if cursor in (None, ""):
        return 0
    try:
        prefix, _, number = base64.urlsafe_b64decode(str(cursor).encode()).decode().partition(":")
        if prefix == "emu" and number.isdigit():
            return int(number)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ApiError(50100, "invalid cursor")
