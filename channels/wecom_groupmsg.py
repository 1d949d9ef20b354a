"""WeCom customer-group (客户群) mass messages: the enterprise asks, each group owner confirms.

The enterprise API (``qyapi.weixin.qq.com/cgi-bin/externalcontact/…``) never sends to a
group itself: ``add_msg_template`` with ``chat_type=group`` creates a task for one owner
(``sender``) and the groups they own; the owner confirms it in their WeCom app, and only
then does the message reach the groups. Results are read back per owner
(``get_groupmsg_task``) and per group (``get_groupmsg_send_result``). The protocol, its
sources and what could not be confirmed: ``docs/wecom-groupmsg.md``.

Errors, by the table ``ERRORS`` below (``errcode`` decides, never ``errmsg``)::

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from pydantic import BaseModel, Field, SecretStr

from channels.base import ChannelError, PermanentError
from channels.errors import FATAL, HTTP, PERMANENT, TRANSIENT, ErrorTable, error_for
from channels.http import HttpSession
from channels.wechat_token import MemoryTokenStore, TokenStore

log = logging.getLogger(__name__)

#: What this API's codes mean (see :mod:`channels.errors`).
ERRORS: ErrorTable = {
    "-1": (TRANSIENT, "企业微信系统繁忙，稍后重试"),
    "45009": (TRANSIENT, "接口调用超过限制"),
    "45033": (TRANSIENT, "接口并发调用超过限制"),
    "41063": (TRANSIENT, "群发消息正在派发中，稍后再查"),
    "40014": (TRANSIENT, "access_token 不合法（刷新后仍被拒）"),
    "42001": (TRANSIENT, "access_token 已过期（刷新后仍被拒）"),
    "40013": (FATAL, "企业 ID（CorpID）无效，请检查企业微信配置"),
    "40001": (FATAL, "应用 Secret 无效，请检查企业微信配置"),
    "41002": (FATAL, "未配置企业 ID（CorpID）"),
    "41004": (FATAL, "未配置应用 Secret"),
    "48002": (FATAL, "应用无客户联系群发接口权限"),
    "60020": (FATAL, "调用接口的 IP 不在企业微信可信 IP 中"),
    "40003": (PERMANENT, "群主的企业微信账号（userid）无效"),
    "41009": (PERMANENT, "未指定群主（sender）"),
    "41046": (PERMANENT, "缺少群发消息 ID"),
    "41047": (PERMANENT, "群发消息 ID 无效"),
    "41048": (PERMANENT, "没有可发送的客户群（均非该群主的群或已达接收上限）"),
    "41065": (PERMANENT, "附件类型无效"),
    "44004": (PERMANENT, "消息内容为空"),
    "45002": (PERMANENT, "消息内容超过长度上限"),
    "40058": (PERMANENT, "请求参数不合法"),
    "50100": (PERMANENT, "分页游标无效"),
    "content_too_long": (PERMANENT, "消息内容超过 4000 字节"),
    "too_many_groups": (PERMANENT, "一次群发的客户群超过 2000 个"),
    "invalid_link": (PERMANENT, "链接地址超过 2048 字节"),
    "invalid_request": (PERMANENT, "群发请求不完整（缺少群主、客户群或内容）"),
    **HTTP,
}

TOKEN_ERRORS = frozenset({40014, 42001})
#: Documented bounds of one task (docs/wecom-groupmsg.md).
MAX_TEXT_BYTES = 4000
MAX_CHAT_IDS = 2000
MAX_LINK_TITLE_BYTES = 128
MAX_LINK_URL_BYTES = 2048
#: get_groupmsg_list_v2 refuses a window longer than one month; we ask in 30-day steps.
LIST_WINDOW = timedelta(days=30)

#: Per-group results of get_groupmsg_send_result: ``status`` → (our state, reason).
SEND_STATUS: Mapping[int, tuple[str, str | None]] = {
    0: ("waiting", None),
    1: ("sent", None),
    2: ("failed", "客户群不可发送（平台：客户不是好友，如群已解散或群主已变更）"),
    3: ("failed", "该群已收到其他群发消息，达到接收上限"),
}
#: A group missing from the results once the owner has sent: left out by the platform
#: (or by the owner, where allow_select lets them choose).
NOT_SENT = ("not_selected", "群主已发送，但该群不在发送结果中（未被选中或被平台略过）")
#: get_groupmsg_task: the owner has sent (0 not sent, 1 confirmed, 2 sent).
TASK_SENT = 2


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


@dataclass(frozen=True, slots=True)
class GroupMessage:
    """What the groups get: a text and, optionally, a link card (title and URL)."""

    text: str
    link_url: str | None = None
    link_title: str = ""


@dataclass(frozen=True, slots=True)
class GroupSend:
    """One group's fate in a task: ``waiting`` (the owner has not sent), ``sent`` (with
    ``send_time``) or ``failed`` (``error_code``: the platform's send status, or
    ``not_selected`` for a group the owner's send left out; a Chinese reason)."""

    chat_id: str
    owner_userid: str
    status: str
    send_time: datetime | None = None
    error_code: str | None = None
    error_message: str | None = None


def classify(errcode: int | str, errmsg: str = "") -> ChannelError:
    """The typed error for a non-zero ``errcode`` (or one of our client-side codes)."""
    return error_for(ERRORS, str(errcode), errmsg)


def _code(body: Mapping[str, Any]) -> int:
    try:
        return int(body.get("errcode", 0))
    except (TypeError, ValueError):
        return -1


def _utf8_cut(text: str, limit: int) -> str:
    return text.encode()[:limit].decode(errors="ignore")


def _when(value: Any) -> datetime | None:
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None


def _utcnow() -> datetime:
    return datetime.now(UTC)


def task_body(sender: str, chat_ids: Sequence[str], message: GroupMessage) -> dict[str, Any]:
    """The ``add_msg_template`` body; ``PermanentError`` for what the API would refuse."""
    if not sender or not chat_ids or not message.text.strip():
        raise PermanentError("invalid_request", "sender, chat_ids and text are required")
    if len(chat_ids) > MAX_CHAT_IDS:
        raise PermanentError("too_many_groups", f"{len(chat_ids)} > {MAX_CHAT_IDS}")
    size = len(message.text.encode())
    if size > MAX_TEXT_BYTES:
        raise PermanentError("content_too_long", f"{size} bytes > {MAX_TEXT_BYTES}")
    body: dict[str, Any] = {
        "chat_type": "group",
        "sender": sender,
        "chat_id_list": list(chat_ids),
        "allow_select": False,
        "text": {"content": message.text},
    }
    if message.link_url:
        if len(message.link_url.encode()) > MAX_LINK_URL_BYTES:
            raise PermanentError("invalid_link", "link url longer than 2048 bytes")
        title = message.link_title or message.text.strip().splitlines()[0]
        link = {"title": _utf8_cut(title, MAX_LINK_TITLE_BYTES), "url": message.link_url}
        body["attachments"] = [{"msgtype": "link", "link": link}]
    return body


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
            send = _group_send(row, sender)
            if send is not None:
                reported[send.chat_id] = send
        results = [
            reported.pop(c) if c in reported else _unreported(c, sender, owner_sent)
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
        ``text.content`` and ``create_time``.
        """
        found: list[dict[str, Any]] = []
        end = min(end, self._clock())
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

    async def _owner_sent(self, msgid: str, sender: str) -> bool:
        rows = await self._pages("externalcontact/get_groupmsg_task", {"msgid": msgid}, "task_list")
        return any(r.get("userid") == sender and _int(r.get("status")) == TASK_SENT for r in rows)

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
        if _code(body) in TOKEN_ERRORS:
            token = await self._tokens.refresh(self._token_key, token, self._fetch_token)
            body = await self._post(path, token, payload)
        if _code(body) != 0:
            raise classify(_code(body), str(body.get("errmsg", "")))
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
        if _code(body) != 0 or not body.get("access_token"):
            raise classify(_code(body) or -1, "gettoken: " + str(body.get("errmsg", "")))
        log.info("wecom app access_token refreshed for corp %s", self._settings.corp_id)
        return str(body["access_token"]), _int(body.get("expires_in")) or 7200


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _group_send(row: Mapping[str, Any], sender: str) -> GroupSend | None:
    chat_id = str(row.get("chat_id") or "")
    if not chat_id:
        return None
    code = _int(row.get("status"))
    state, reason = SEND_STATUS.get(code, ("failed", f"未知发送状态 {code}"))
    owner = str(row.get("userid") or sender)
    if state == "sent":
        return GroupSend(chat_id, owner, state, _when(row.get("send_time")))
    return GroupSend(chat_id, owner, state, None, str(code) if reason else None, reason)


def _unreported(chat_id: str, sender: str, owner_sent: bool) -> GroupSend:
    if not owner_sent:
        return GroupSend(chat_id, sender, "waiting")
    code, reason = NOT_SENT
    return GroupSend(chat_id, sender, "failed", None, code, reason)
