"""JSON API after a push: stop it, withdraw (撤回), expire (失效) or correct (更正) its item.

Who may: leaders and admins; a duty officer (值班, any role) for an urgent warning
(:func:`pusher.pipeline.lifecycle_push.may_take_down`). Any other signed-in user is
refused (403) and the refusal written to the audit log, like every API refusal.
A correction is drafted by a publisher or leader (or admin) and reviewed again.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Annotated, Protocol

from aiohttp import web
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.audit import record
from pusher.db import transaction
from pusher.errors import Forbidden, NotFound, TooLarge
from pusher.models import Item, Role, User
from pusher.pipeline import lifecycle_push as lifecycle
from pusher.pipeline import review
from pusher.pipeline.correct import draft_correction
from pusher.pipeline.ingest import Line, Text
from pusher.pipeline.withdraw_notice import add_notice
from pusher.staff.notify import nudge
from pusher.web.auth import require
from pusher.web.keys import RESOURCES, SETTINGS
from pusher.web.params import int_param, json_object

#: a correction is a new draft: its authors, and the leader; it is reviewed like any item
CORRECT_ITEMS = (Role.PUBLISHER, Role.LEADER)
REFUSED = "只有领导或管理员（紧急预警时值班人员）可以停止、撤回或设为失效。此次操作已记入操作日志。"


def _clean(text: str) -> str:
    if not text.strip():
        raise ValueError("请填写原因")
    return text.strip()


Reason = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_clean)]


def _text_only(value: object) -> object:
    if value is not None and not isinstance(value, str):
        raise ValueError("时间须为 ISO 8601 格式的文本，如 2026-12-31T00:00:00+08:00")
    return value


def _utc(value: datetime) -> datetime:
    try:
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        raise ValueError("时间超出范围") from None


When = Annotated[datetime, BeforeValidator(_text_only), AfterValidator(_utc)]


class TakeDownIn(BaseModel):
    """Why the push is stopped or the item withdrawn."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason


class WithdrawIn(TakeDownIn):
    """Why the item is withdrawn; ``notify``: send a short 【撤回】 notice to exactly those
    who received it, by the channel each received it on."""

    notify: bool = False


class ExpireIn(BaseModel):
    """Why, and from when (default now), the item is 失效."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason
    at: When | None = None


class CorrectIn(BaseModel):
    """The corrected title and/or body; the correction goes through review again."""

    model_config = ConfigDict(extra="forbid")

    title: Line | None = Field(default=None, min_length=1, max_length=200)
    body: Text | None = Field(default=None, min_length=1)


async def correct_item(request: web.Request) -> web.Response:
    """Draft a correction (更正) of an approved item and submit it for review."""
    user = await require(request, *CORRECT_ITEMS)
    data = CorrectIn.model_validate(await json_object(request))
    if data.body is not None and len(data.body) > request.app[SETTINGS].max_body_chars:
        raise TooLarge("正文过长")
    async with transaction(request.app[RESOURCES].db) as session:
        original = await session.get(Item, int_param(request, "item_id"))
        if original is None:
            raise NotFound(f"信息 {request.match_info['item_id']} 不存在")
        item = draft_correction(original, title=data.title, body=data.body)
        item.created_by = user.id
        session.add(item)
        await session.flush()
        await review.submit(session, item, actor=user.username)
        record(session, actor=user.username, action="item.correct", target=f"item:{original.id}",
               detail={"correction": item.id})  # fmt: skip
    await nudge(request.app[RESOURCES].queue)
    return web.json_response(item.model_dump(mode="json"), status=201)


class TakeDown(Protocol):
    def __call__(
        self, session: AsyncSession, item: Item, *, actor: str, reason: str, now: datetime
    ) -> Awaitable[int]: ...


async def stop_item(request: web.Request) -> web.Response:
    """Stop the item's push: waiting messages cancelled, those sent stay sent."""
    return await _take_down(request, lifecycle.stop_push)


async def withdraw_item(request: web.Request) -> web.Response:
    """Withdraw the item: its push stopped, its page showing 已撤回; optionally a notice."""
    user = await require(request)
    data = WithdrawIn.model_validate(await json_object(request))
    item_id = await _allowed(request, user)
    resources, now = request.app[RESOURCES], datetime.now(UTC)
    async with transaction(resources.db) as session:
        item = await session.get_one(Item, item_id)
        cancelled = await lifecycle.withdraw_item(
            session, item, actor=user.username, reason=data.reason, now=now
        )
        notice = None
        if data.notify:
            notice = await add_notice(
                session, item, actor=user.username, reason=data.reason, now=now
            )
    if notice is not None:
        await resources.queue.enqueue("process_item", notice.id, job_id=f"process:{notice.id}")
    body = {"item_id": item.id, "cancelled": cancelled}
    return web.json_response(body | {"notice_item_id": notice.id if notice else None})


async def _take_down(request: web.Request, action: TakeDown) -> web.Response:
    """Validate, check the caller may, apply ``action`` with its reason; the cancelled count."""
    user = await require(request)
    data = TakeDownIn.model_validate(await json_object(request))
    item_id = await _allowed(request, user)
    async with transaction(request.app[RESOURCES].db) as session:
        item = await session.get_one(Item, item_id)
        cancelled = await action(
            session, item, actor=user.username, reason=data.reason, now=datetime.now(UTC)
        )
    return web.json_response({"item_id": item.id, "cancelled": cancelled})


async def expire_item(request: web.Request) -> web.Response:
    """Mark the item 失效 now or from a given time."""
    user = await require(request)
    data = ExpireIn.model_validate(await json_object(request))
    item_id = await _allowed(request, user)
    at = data.at or datetime.now(UTC)
    async with transaction(request.app[RESOURCES].db) as session:
        item = await session.get_one(Item, item_id)
        await lifecycle.expire_item(
            session, item, actor=user.username, reason=data.reason, at=at
        )
    return web.json_response({"item_id": item.id, "expires_at": at.isoformat()})


async def _allowed(request: web.Request, user: User) -> int:
    """The item id in the path, if ``user`` may take it down; else 404 or 403 (audited)."""
    item_id = int_param(request, "item_id")
    async with request.app[RESOURCES].db() as session:
        item = await session.get(Item, item_id)
    if item is None:
        raise NotFound(f"信息 {item_id} 不存在")
    if not lifecycle.may_take_down(user, item):
        await _audit_refusal(request, user, item_id)
        raise Forbidden(REFUSED)
    return item_id


async def _audit_refusal(request: web.Request, user: User, item_id: int) -> None:
    detail = {"why": "role", "path": request.path_qs, "method": request.method, "via": "api"}
    async with transaction(request.app[RESOURCES].db) as session:
        record(
            session,
            actor=user.username,
            action="access.denied",
            target=f"item:{item_id}",
            detail=detail,
        )
