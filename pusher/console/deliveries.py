"""Delivery logs: filter, page and send failed ones again (their export:
:mod:`pusher.console.delivery_export`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import web
from sqlalchemy import ColumnElement, and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import ChannelKind
from pusher.audit import record
from pusher.console.base import STAFF, Viewer, render, viewer
from pusher.console.item_groups import KIND_NAMES, group_state
from pusher.console.item_page import DELIVERY_NAMES
from pusher.db import transaction
from pusher.models import PERSON_CHANNELS, Delivery, DeliveryStatus, Region, Resident, Role, utcnow
from pusher.privacy import recipient_for
from pusher.web.delivery_log import (
    COUNT_CAP,
    WHO,
    Grid,
    capped_total,
    conditions,
    log_filter,
    rows_query,
)
from pusher.web.keys import RESOURCES
from pusher.web.local_time import localtime
from pusher.web.params import parse_id
from subscriptions.channel import sms_ok, wechat_ok

PAGE = 100
FILTER_KEYS = ("push", "village", "grid", "kind", "channel", "status", "date", "from", "to")
CHANNELS = {"wechat": "公众号", "sms": "短信", **KIND_NAMES, "sandbox": "模拟"}
#: ``kind``: resident rows or group-chat rows (the group's own kind is its channel)
KINDS = {"resident": "居民", "group": "群聊"}
#: Channels a person completes (the owner confirms, the keeper relays): never re-queued.
NOT_RETRIED = PERSON_CHANNELS
HEADER = (
    "编号",
    "推送",
    "居民/群聊",
    "收件人",
    "地区",
    "渠道",
    "服务商",
    "状态",
    "服务商编号",
    "错误码",
    "创建时间",
    "发送时间",
    "完成时间",
)
# Plain columns, not Delivery objects: 100,000 ORM objects stall the event loop (and the
# garbage collector) for seconds.
EXPORT_COLUMNS = (
    *Delivery.__table__.c,
    WHO.label("resident_name"),
    Grid.name.label("grid_name"),
)
PAGE_COLUMNS = (Delivery, WHO, Grid.name)


async def where_of(db: AsyncSession, request: web.Request, me: Viewer) -> list[ColumnElement[bool]]:
    """The conditions of the page's filters, inside the viewer's scope (see
    :mod:`pusher.web.delivery_log` for the shapes that keep them fast)."""
    return await conditions(db, await log_filter(db, request.query, me.scope))


def after_id(request: web.Request) -> int | None:
    """``after``: the last id of the page before (keyset pages)."""
    return parse_id(request.query.get("after", ""))


def state(d: Any, now: datetime) -> str:
    """The status in words; a queued row due later says when it goes (quiet hours,
    a provider's daily cap) or is tried again (after a transient error)."""
    if d.channel in NOT_RETRIED:  # a person's step: 待转发, 待群主确认 …
        return group_state(d.channel, d.status)
    named = DELIVERY_NAMES.get(DeliveryStatus(d.status), d.status)
    due = d.next_attempt_at
    if d.status != DeliveryStatus.QUEUED or due is None or due <= now:
        return str(named)
    return f"{named}，{localtime(due)} {'重试' if d.attempts else '发送'}"


def log_row(me: Viewer, d: Any, name: str | None, grid: str | None) -> list[Any]:
    """One line of the log; ``d`` is a Delivery or a row of its columns (exports)."""
    recipient = recipient_for(me.role, d.channel, d.recipient)
    return [
        d.id,
        d.push_id,
        name or "",
        recipient,
        grid or "",
        CHANNELS.get(d.channel, d.channel),
        d.provider or "",
        state(d, utcnow()),
        d.provider_id or "",
        d.error_code or "",
        localtime(d.created_at),
        localtime(d.sent_at),
        localtime(d.done_at),
    ]


async def _places(request: web.Request) -> tuple[list[Any], list[Any]]:
    async with request.app[RESOURCES].db() as db:
        rows = (
            await db.execute(select(Region.code, Region.name, Region.kind).order_by(Region.path))
        ).all()
    return (
        [(c, n) for c, n, k in rows if k == "village"],
        [(c, n) for c, n, k in rows if k == "grid"],
    )


async def deliveries_page(request: web.Request) -> web.Response:
    me = await viewer(request, *STAFF, Role.GRID_WORKER)
    after = after_id(request)
    async with request.app[RESOURCES].db() as db:
        where = await where_of(db, request, me)
        rows = (await db.execute(rows_query(PAGE_COLUMNS, where, after=after, limit=PAGE))).all()
        total = await capped_total(db, where)
    villages, grids = await _places(request)
    filters = urlencode({k: v for k, v in request.query.items() if k in FILTER_KEYS})
    return await render(
        request,
        "deliveries.html",
        me,
        header=HEADER,
        rows=[log_row(me, *r) for r in rows],
        total=f"{COUNT_CAP:,} 多" if total > COUNT_CAP else total,
        after=after,
        next_after=rows[-1][0].id if len(rows) == PAGE else None,
        q=request.query,
        villages=villages,
        grids=grids,
        channels=CHANNELS,
        kinds=KINDS,
        statuses=DELIVERY_NAMES,
        qs=request.query_string,
        filters=filters,
        retried=request.query.get("retried"),
        kept=request.query.get("kept", "0"),
    )


async def retry(request: web.Request) -> web.Response:
    """Put failed deliveries of the filter back in the queue and dispatch them again."""
    me = await viewer(request, Role.PUBLISHER, Role.REVIEWER)
    form = await request.post()
    back = safe_back(form.get("back"), request.query)
    resources = request.app[RESOURCES]
    async with transaction(resources.db) as db:
        where = await where_of(db, request, me)
        ids = select(Delivery.id).where(
            *where,
            Delivery.status == DeliveryStatus.FAILED,
            Delivery.channel.not_in(NOT_RETRIED),
        )
        failed = await db.scalar(select(func.count()).select_from(ids.subquery())) or 0
        work = (
            await db.execute(
                select(Delivery.push_id, Delivery.channel)
                .where(Delivery.id.in_(ids), still_allowed())
                .distinct()
            )
        ).all()
        result = await db.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), still_allowed())
            .values(
                recipient=current_address(),
                status=DeliveryStatus.QUEUED,
                attempts=0,
                next_attempt_at=utcnow(),
                claimed_by=None,
                lease_until=None,
                error_code=None,
                error_message=None,
                done_at=None,
            )
            .execution_options(synchronize_session=False)
        )
        count = getattr(result, "rowcount", 0)
        row = await audit_row(db, me, request, count)
    for push_id, channel in work:
        job = f"dispatch:{push_id}:{channel}:retry:{row}"
        await resources.queue.enqueue("dispatch", push_id, channel, job_id=job)
    done = urlencode({**back, "retried": count, "kept": failed - count})
    raise web.HTTPFound(f"/deliveries?{done}")


def safe_back(raw: object, query: Mapping[str, str]) -> dict[str, str]:
    """The deliveries page's filters to go back to after a retry.

    ``raw`` is the form's ``back``: a query string, or a same-origin ``/deliveries?…``
    path. Only the page's own filter keys are kept and they are encoded again, so
    nothing the form sent (CR/LF, another host) reaches the ``Location`` header;
    anything else falls back to the filters of the request itself.
    """
    text = raw if isinstance(raw, str) else ""
    if text.startswith("/deliveries?"):
        text = text.removeprefix("/deliveries?")
    bad = any(ord(ch) < 32 or ord(ch) == 127 for ch in text) or text.startswith("/")
    pairs = parse_qsl(text) if text and not bad else list(query.items())
    return {k: v for k, v in pairs if k in FILTER_KEYS and v.isprintable()}


def still_allowed() -> ColumnElement[bool]:
    """Rows whose resident may still be reached over the row's channel (group chats:
    always). A resident who replied TD or unfollowed is not sent to again by a retry."""
    allowed_now = or_(
        and_(Delivery.channel == ChannelKind.WECHAT.value, wechat_ok()),
        and_(Delivery.channel == ChannelKind.SMS.value, sms_ok()),
    )
    theirs = select(Resident.id).where(Resident.id == Delivery.resident_id, allowed_now)
    return Delivery.resident_id.is_(None) | theirs.exists()


def current_address() -> ColumnElement[Any]:
    """The row's address as the resident's record has it now (a corrected number)."""
    of = Resident.id == Delivery.resident_id
    return case(
        (
            Delivery.channel == ChannelKind.WECHAT.value,
            select(Resident.openid).where(of).scalar_subquery(),
        ),
        (
            Delivery.channel == ChannelKind.SMS.value,
            select(Resident.phone).where(of).scalar_subquery(),
        ),
        else_=Delivery.recipient,
    )


async def audit_row(db: Any, me: Viewer, request: web.Request, count: int) -> int:
    row = record(
        db,
        actor=me.name,
        action="deliveries.retry",
        target=request.path_qs,
        detail={"count": count},
    )
    await db.flush()
    return int(row.id or 0)
