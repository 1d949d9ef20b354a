"""WeCom customer-group (客户群) mass messages: the enterprise asks, each group owner confirms.

The enterprise API (``qyapi.weixin.qq.com/cgi-bin/externalcontact/…``) never sends to a
group itself: ``add_msg_template`` with ``chat_type=group`` creates a task for one owner
(``sender``) and the groups they own; the owner confirms it in their WeCom app, and only
then does the message reach the groups. Results are read back per owner
(``get_groupmsg_task``) and per group (``get_groupmsg_send_result``). The protocol, its
sources and what could not be confirmed: ``docs/wecom-groupmsg.md``.

Errors, by the table ``ERRORS`` (in :mod:`channels.wecom_groupmsg_wire`, with the bounds
and the bodies; ``errcode`` decides, never ``errmsg``)::

    -1 busy, 45009/45033 frequency, 41063 task still being dispatched,
    HTTP 5xx, refused connections                       -> TransientError
    timeout or dropped link (see channels.http)         -> UnknownOutcome: for
        create_task the task may exist; look it up with list_tasks before creating again
    40014/42001 token refused -> one shared refresh, one retry of that call;
        refused again                                   -> TransientError
    40013 bad corp id, 40001 bad secret, 48002 no permission,
    60020 IP not whitelisted                            -> FatalError
    every other code (bad sender, no group left, 41047 unknown msgid, …) -> PermanentError

The corp secret goes out only as ``gettoken``'s query and is never logged; neither is
the access token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import aiohttp
from pydantic import BaseModel, Field, SecretStr

from channels.http import HttpSession
from channels.wechat_token import MemoryTokenStore, TokenStore
from channels.wecom_groupmsg_wire import (
    ERRORS,
    LIST_WINDOW,
    TASK_SENT,
    TOKEN_ERRORS,
    GroupMessage,
    GroupSend,
    as_int,
    classify,
    errcode,
    group_send,
    task_body,
    unreported,
)

__all__ = ["ERRORS", "GroupMessage", "GroupMsgClient", "GroupSend", "WeComAppSettings"]

log = logging.getLogger(__name__)


class WeComAppSettings(BaseModel):
    """The enterprise's self-built app with 客户联系 permission: corp id and the app's secret."""

    corp_id: str = ""
    corp_secret: SecretStr = SecretStr("")
    base_url: str = "https://qyapi.weixin.qq.com/"
    timeout_seconds: float = Field(default=10, gt=0)
    #: records per page of the task and send-result queries (the API's maximum is 1000)
    page_size: int = Field(default=1000, ge=1, le=1000)

    @property
    def configured(self) -> bool:
        """Whether the app can call the API (corp id and secret are set)."""
        return bool(self.corp_id and self.corp_secret.get_secret_value())

    def url(self, path: str) -> str:
        """``path`` under ``base_url``."""
        return f"{self.base_url.rstrip('/')}/cgi-bin/{path}"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class GroupMsgClient:
    """Creates customer-group mass-message tasks and reads their results back.

    ``tokens`` (default: this process only) is where the access token is shared; pass
    :class:`~channels.wechat_token.RedisTokenStore` so all workers share one. ``clock``
    gives "now" (``list_tasks`` asks no further than now).
    """

    def __init__(
        self,
        settings: WeComAppSettings,
        session: aiohttp.ClientSession,
        clock: Callable[[], datetime] = _utcnow,
        *,
        tokens: TokenStore | None = None,
    ) -> None:
        self._settings = settings
        self._http = HttpSession(session, timeout_seconds=settings.timeout_seconds)
        self._clock = clock
        self._tokens = tokens or MemoryTokenStore()
        self._token_key = f"wecom-app:{settings.corp_id}"

    async def create_task(
        self, *, sender: str, chat_ids: Sequence[str], message: GroupMessage
    ) -> tuple[str, list[str]]:
        """Ask ``sender`` to send ``message`` to ``chat_ids``: ``(msgid, refused chat ids)``.

        A timeout is :class:`~channels.base.UnknownOutcome`: the task may exist; find it
        with :meth:`list_tasks` before creating another.
        """
        body = await self._call(
            "externalcontact/add_msg_template", task_body(sender, chat_ids, message)
        )
        msgid = str(body.get("msgid") or "")
        if not msgid:
            raise classify("bad_response", "add_msg_template answered without msgid")
        failed = [str(c) for c in body.get("fail_list") or []]
        log.info(
            "wecom groupmsg %s for %s: %d groups, %d refused",
            msgid,
            sender,
            len(chat_ids),
            len(failed),
        )
        return msgid, failed

    async def task_results(
        self, msgid: str, *, sender: str, chat_ids: Sequence[str] = ()
    ) -> list[GroupSend]:
        """Each group's state in task ``msgid`` of owner ``sender``.

        The platform lists a group only once the owner has sent (it does not return
        unsent group records), so ``chat_ids`` — the groups the task was created for —
        fill the gaps: ``waiting`` while the owner has not sent, ``failed`` with
        ``not_selected`` after.
        """
        owner_sent = await self._owner_sent(msgid, sender)
        reported: dict[str, GroupSend] = {}
        payload = {"msgid": msgid, "userid": sender}
        for row in await self._pages(
            "externalcontact/get_groupmsg_send_result", payload, "send_list"
        ):
            send = group_send(row, sender)
            if send is not None:
                reported[send.chat_id] = send
        results = [
            reported.pop(c) if c in reported else unreported(c, sender, owner_sent)
            for c in dict.fromkeys(chat_ids)
        ]
        return results + list(reported.values())

    async def remind(self, msgid: str) -> None:
        """Notify the owners of ``msgid`` again (the platform allows 3 reminders in 24 h)."""
        await self._call("externalcontact/remind_groupmsg_send", {"msgid": msgid})

    async def list_tasks(
        self, *, start: datetime, end: datetime, creator: str | None = None
    ) -> list[dict[str, Any]]:
        """Group mass-message tasks created between ``start`` and ``end`` (raw records).

        Records of tasks created through the API carry no ``creator``; match them by
        ``text.content`` and ``create_time``. Naive datetimes are taken as UTC.
        """
        found: list[dict[str, Any]] = []
        start, end = _aware(start), min(_aware(end), self._clock())
        while start < end:
            stop = min(start + LIST_WINDOW, end)
            payload: dict[str, Any] = {
                "chat_type": "group",
                "start_time": int(start.timestamp()),
                "end_time": int(stop.timestamp()),
                "filter_type": 0,
            }
            if creator:
                payload["creator"] = creator
            found += await self._pages(
                "externalcontact/get_groupmsg_list_v2", payload, "group_msg_list", limit=100
            )
            start = stop
        return found

    async def owners(self, msgid: str) -> set[str]:
        """The userids task ``msgid`` was created for (``get_groupmsg_task``): the one way
        to tell whose a listed task is, since tasks created through the API are listed
        without their creator."""
        return {str(r["userid"]) for r in await self._task_list(msgid) if r.get("userid")}

    async def _owner_sent(self, msgid: str, sender: str) -> bool:
        rows = await self._task_list(msgid)
        return any(r.get("userid") == sender and as_int(r.get("status")) == TASK_SENT for r in rows)

    async def _task_list(self, msgid: str) -> list[dict[str, Any]]:
        """``get_groupmsg_task``: one row per owner of task ``msgid``, with its status."""
        return await self._pages("externalcontact/get_groupmsg_task", {"msgid": msgid}, "task_list")

    async def _pages(
        self, path: str, payload: dict[str, Any], key: str, *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        cursor = ""
        for _ in range(10_000):  # a cursor that never ends is the provider's bug, not a loop
            page = {**payload, "limit": limit or self._settings.page_size, "cursor": cursor}
            body = await self._call(path, page)
            rows += [r for r in body.get(key) or [] if isinstance(r, dict)]
            cursor = str(body.get("next_cursor") or "")
            if not cursor:
                return rows
        raise classify("bad_response", f"{path}: too many pages")

    async def _call(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        token = await self._tokens.get(self._token_key, self._fetch_token)
        body = await self._post(path, token, payload)
        if errcode(body) in TOKEN_ERRORS:
            token = await self._tokens.refresh(self._token_key, token, self._fetch_token)
            body = await self._post(path, token, payload)
        if errcode(body) != 0:
            raise classify(errcode(body), str(body.get("errmsg", "")))
        return body

    async def _post(self, path: str, token: str, payload: dict[str, Any]) -> dict[str, Any]:
        url = self._settings.url(path)
        answer = await self._http.post(url, params={"access_token": token}, json=payload)
        return answer.json_object(refuse_4xx=True)

    async def _fetch_token(self) -> tuple[str, int]:
        params = {
            "corpid": self._settings.corp_id,
            "corpsecret": self._settings.corp_secret.get_secret_value(),
        }
        answer = await self._http.request("GET", self._settings.url("gettoken"), params=params)
        body = answer.json_object(refuse_4xx=True)
        if errcode(body) != 0 or not body.get("access_token"):
            raise classify(errcode(body) or -1, "gettoken: " + str(body.get("errmsg", "")))
        log.info("wecom app access_token refreshed for corp %s", self._settings.corp_id)
        expires_in = as_int(body.get("expires_in"))
        return str(body["access_token"]), expires_in if expires_in > 0 else 7200
