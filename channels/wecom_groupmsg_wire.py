"""What goes over the wire for customer-group mass messages: codes, bounds, bodies, records.

The client is :mod:`channels.wecom_groupmsg`; the protocol and its sources are in
``docs/wecom-groupmsg.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from channels.base import ChannelError, PermanentError
from channels.errors import FATAL, HTTP, PERMANENT, TRANSIENT, ErrorTable, error_for

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


def classify(code: int | str, errmsg: str = "") -> ChannelError:
    """The typed error for a non-zero ``errcode`` (or one of our client-side codes)."""
    return error_for(ERRORS, str(code), errmsg)


def errcode(body: Mapping[str, Any]) -> int:
    """The answer's ``errcode`` (0 when absent, -1 when unreadable)."""
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


def as_int(value: Any) -> int:
    """``value`` as an int; -1 when it is not one."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def group_send(row: Mapping[str, Any], sender: str) -> GroupSend | None:
    """A ``send_list`` record of ``get_groupmsg_send_result`` as a :class:`GroupSend`."""
    chat_id = str(row.get("chat_id") or "")
    if not chat_id:
        return None
    code = as_int(row.get("status"))
    state, reason = SEND_STATUS.get(code, ("failed", f"未知发送状态 {code}"))
    owner = str(row.get("userid") or sender)
    if state == "sent":
        return GroupSend(chat_id, owner, state, _when(row.get("send_time")))
    return GroupSend(chat_id, owner, state, None, str(code) if reason else None, reason)


def unreported(chat_id: str, sender: str, owner_sent: bool) -> GroupSend:
    """A group of the task the results do not list: waiting, or left out once sent."""
    if not owner_sent:
        return GroupSend(chat_id, sender, "waiting")
    code, reason = NOT_SENT
    return GroupSend(chat_id, sender, "failed", None, code, reason)
