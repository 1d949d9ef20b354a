"""A local WeCom customer-group (客户群) mass-message API, on the WeCom emulator's app.

Routes (real ones under ``/cgi-bin/``, answered HTTP 200 with ``errcode``/``errmsg``
like the service, never a 500)::

    GET  gettoken?corpid=…&corpsecret=…          40013/40001 bad credentials
    POST externalcontact/add_msg_template         chat_type=group only
    POST externalcontact/get_groupmsg_list_v2     cursor paging
    POST externalcontact/get_groupmsg_task        cursor paging
    POST externalcontact/get_groupmsg_send_result cursor paging; sent groups only
    POST externalcontact/remind_groupmsg_send     3 reminders per task in 24 h

Emulator-only: ``POST /emulator/groupmsg/confirm {"msgid", "sender"}`` (the owner sends
the task in their app), ``POST /emulator/groupmsg/dismiss {"chat_id"}`` (the group is
gone), ``GET /emulator/groupmsg/tasks``. What groups received lands in the WeCom
emulator's inbox (``GET /emulator/inbox``, keyed by chat id). The state and its rules:
:mod:`channels.emulators.wecom_groupmsg_state`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from channels.emulators.common import Faults, Inbox, mark_taken
from channels.emulators.wecom_groupmsg_state import (
    ATTACHMENT_TYPES,
    MAX_ATTACHMENTS,
    MAX_CHAT_IDS,
    MAX_TEXT_BYTES,
    TASK_SENT,
    TASK_WAITING,
    ApiError,
    GroupMsgEmulator,
    page,
)

GROUPMSG = web.AppKey("wecom_groupmsg", GroupMsgEmulator)
Api = Callable[[GroupMsgEmulator, dict[str, Any]], Awaitable[dict[str, Any]]]
#: get_groupmsg_list_v2 refuses a window longer than a month.
MAX_LIST_SECONDS = 31 * 86_400


def _error(state: GroupMsgEmulator, error: ApiError) -> web.Response:
    state.errors[error.code] += 1
    hint = f"{error.message}, hint: [{time.time_ns()}], from ip: 127.0.0.1, "
    hint += f"more info at https://open.work.weixin.qq.com/devtool/query?e={error.code}"
    return web.json_response({"errcode": error.code, "errmsg": hint})


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise ApiError(40058, "Warning: wrong json format.")
    return data


def api(handler: Api) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A POST view: token, throttling fault, JSON object, then ``handler``'s fields."""

    async def view(request: web.Request) -> web.Response:
        state = request.app[GROUPMSG]
        try:
            state.check_token(request.query.get("access_token", ""))
            if state.faults.roll(state.faults.throttle):
                raise ApiError(45009, "api freq out of limit")
            answer = await handler(state, await _json_object(request))
        except ApiError as error:
            return _error(state, error)
        return web.json_response({"errcode": 0, "errmsg": "ok", **answer})

    return view


async def gettoken(request: web.Request) -> web.Response:
    """``GET /cgi-bin/gettoken?corpid=ID&corpsecret=SECRET``."""
    state = request.app[GROUPMSG]
    try:
        token, ttl = state.issue_token(
            request.query.get("corpid", ""), request.query.get("corpsecret", "")
        )
    except ApiError as error:
        return _error(state, error)
    return web.json_response(
        {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": ttl}
    )


def _strings(value: Any, name: str, *, limit: int) -> list[str]:
    if not isinstance(value, list) or not value or len(value) > limit:
        raise ApiError(40058, f"{name} must hold 1 to {limit} ids")
    if not all(isinstance(v, str) and v for v in value):
        raise ApiError(40058, f"{name} holds an id that is not a string")
    return value


def _attachments(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_ATTACHMENTS:
        raise ApiError(40058, f"attachments must be a list of at most {MAX_ATTACHMENTS}")
    for item in value:
        kind = item.get("msgtype") if isinstance(item, dict) else None
        if kind not in ATTACHMENT_TYPES or not isinstance(item.get(kind), dict):
            raise ApiError(41065, "invalid attachment type")
        link = item[kind]
        if kind == "link" and not all(
            isinstance(link.get(k), str) and link[k] for k in ("title", "url")
        ):
            raise ApiError(40058, "link.title and link.url are required")
    return value


def _text(body: dict[str, Any]) -> str:
    text = body.get("text", {})
    content = text.get("content", "") if isinstance(text, dict) else None
    if not isinstance(content, str):
        raise ApiError(40058, "text.content must be a string")
    if len(content.encode()) > MAX_TEXT_BYTES:
        raise ApiError(45002, f"text.content exceed max length {MAX_TEXT_BYTES}")
    return content


async def add_msg_template(state: GroupMsgEmulator, body: dict[str, Any]) -> dict[str, Any]:
    """Create a task for the sender's groups; groups not theirs or full go to ``fail_list``."""
    if body.get("chat_type") != "group":
        raise ApiError(40058, "chat_type: the emulator serves customer groups (group) only")
    sender = body.get("sender")
    if not isinstance(sender, str) or not sender:
        raise ApiError(41009, "sender missing: required for chat_type group")
    chat_ids = _strings(body.get("chat_id_list"), "chat_id_list", limit=MAX_CHAT_IDS)
    if not isinstance(body.get("allow_select", False), bool):
        raise ApiError(40058, "allow_select must be a boolean")
    text, attachments = _text(body), _attachments(body.get("attachments"))
    if not text and not attachments:
        raise ApiError(44004, "empty content")
    task, refused = state.create(sender, chat_ids, text, attachments)
    mark_taken(task.msgid)  # the task exists: accept-then-drop may lose this answer
    if state.confirm_after_seconds is not None:
        _later(state, state.confirm_after_seconds, task.msgid, sender)
    if state.stall_after_create_seconds:
        await asyncio.sleep(state.stall_after_create_seconds)
    return {"fail_list": refused, "msgid": task.msgid}


def _later(state: GroupMsgEmulator, delay: float, msgid: str, sender: str) -> None:
    async def confirm() -> None:
        await asyncio.sleep(delay)
        state.confirm(msgid, sender)

    task = asyncio.get_running_loop().create_task(confirm())
    state.background.add(task)
    task.add_done_callback(state.background.discard)


def _seconds(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ApiError(40058, f"{key} must be a unix time")
    return value


async def get_groupmsg_list_v2(state: GroupMsgEmulator, body: dict[str, Any]) -> dict[str, Any]:
    """Tasks created in ``[start_time, end_time]``; API tasks have no creator to filter by."""
    if body.get("chat_type", "single") not in ("single", "group"):
        raise ApiError(40058, "invalid chat_type")
    start, end = _seconds(body, "start_time"), _seconds(body, "end_time")
    if end < start or end - start > MAX_LIST_SECONDS:
        raise ApiError(40058, "the time range must be at most one month")
    rows = [
        t.record()
        for t in state.tasks.values()
        if body.get("chat_type") == "group"
        and start <= int(t.created_at) <= end
        and not body.get("creator")
    ]
    chunk, cursor = page(rows, body, default=50, maximum=100, cap=state.page_limit)
    return {"next_cursor": cursor, "group_msg_list": chunk}


async def get_groupmsg_task(state: GroupMsgEmulator, body: dict[str, Any]) -> dict[str, Any]:
    """The task's owner and whether they have sent (0 not sent, 2 sent, with send_time)."""
    task = state.task(body.get("msgid"))
    row: dict[str, Any] = {"userid": task.sender, "status": TASK_WAITING}
    if task.sent_at is not None:
        row.update(status=TASK_SENT, send_time=int(task.sent_at))
    chunk, cursor = page([row], body, default=500, maximum=1000, cap=state.page_limit)
    return {"next_cursor": cursor, "task_list": chunk}


async def get_groupmsg_send_result(state: GroupMsgEmulator, body: dict[str, Any]) -> dict[str, Any]:
    """Per-group results of one owner; for groups only once sent (the doc's rule)."""
    task = state.task(body.get("msgid"))
    userid = body.get("userid")
    if not isinstance(userid, str) or not userid:
        raise ApiError(41009, "userid missing")
    rows: list[dict[str, Any]] = []
    if userid == task.sender and task.sent_at is not None:
        for chat_id, status in task.results.items():
            row = {"chat_id": chat_id, "userid": userid, "status": status}
            rows.append({**row, "send_time": int(task.sent_at)} if status == 1 else row)
    chunk, cursor = page(rows, body, default=500, maximum=1000, cap=state.page_limit)
    return {"next_cursor": cursor, "send_list": chunk}


async def remind_groupmsg_send(state: GroupMsgEmulator, body: dict[str, Any]) -> dict[str, Any]:
    """Notify the owner again."""
    state.remind(body.get("msgid"))  # type: ignore[arg-type]  # task() checks it
    return {}


async def confirm_view(request: web.Request) -> web.Response:
    """Emulator only: the owner sends ``msgid`` from their WeCom app."""
    state = request.app[GROUPMSG]
    try:
        data = await _json_object(request)
        task = state.confirm(str(data.get("msgid", "")), str(data.get("sender", "")))
    except ApiError:
        return web.json_response({"ok": False, "error": "请求体须为 JSON 对象"}, status=400)
    except KeyError:
        return web.json_response({"ok": False, "error": "没有该群主的这条群发任务"}, status=404)
    return web.json_response({"ok": True, "results": task.results})


async def dismiss_view(request: web.Request) -> web.Response:
    """Emulator only: the group ``chat_id`` is dismissed; mass messages to it fail."""
    state = request.app[GROUPMSG]
    try:
        chat_id = (await _json_object(request)).get("chat_id")
    except ApiError:
        chat_id = None
    if not isinstance(chat_id, str) or not chat_id:
        return web.json_response({"ok": False, "error": "须提供 chat_id"}, status=400)
    state.dismissed.add(chat_id)
    return web.json_response({"ok": True})


async def tasks_view(request: web.Request) -> web.Response:
    """Emulator only: every task with its groups and results."""
    return web.json_response(request.app[GROUPMSG].snapshot())


async def _stop_background(app: web.Application) -> None:
    pending = list(app[GROUPMSG].background)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def add_groupmsg_routes(
    app: web.Application,
    state: GroupMsgEmulator,
    *,
    faults: Faults | None = None,
    inbox: Inbox | None = None,
) -> None:
    """Serve ``state`` on ``app``; it shares the app's ``faults`` and ``inbox`` if given."""
    state.faults = faults or state.faults
    state.inbox = inbox or state.inbox
    app[GROUPMSG] = state
    base = "/cgi-bin/externalcontact/"
    app.router.add_get("/cgi-bin/gettoken", gettoken)
    handlers = (
        add_msg_template,
        get_groupmsg_list_v2,
        get_groupmsg_task,
        get_groupmsg_send_result,
        remind_groupmsg_send,
    )
    for handler in handlers:
        app.router.add_post(base + handler.__name__, api(handler))
    app.router.add_post("/emulator/groupmsg/confirm", confirm_view)
    app.router.add_post("/emulator/groupmsg/dismiss", dismiss_view)
    app.router.add_get("/emulator/groupmsg/tasks", tasks_view)
    app.on_cleanup.append(_stop_background)
