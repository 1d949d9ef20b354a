"""Delivery logs: filter, page, export (audited) and send failed ones again."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import web
from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select, update
from sqlalchemy.orm import aliased

from channels.base import ChannelKind
from pusher.audit import record
from pusher.console.base import STAFF, Viewer, audit, page_number, render, viewer
from pusher.console.item_groups import KIND_NAMES, group_state
from pusher.console.item_page import DELIVERY_NAMES
from pusher.console.tabular import download, fetch_all
from pusher.db import transaction
from pusher.models import (
    PERSON_CHANNELS,
    Delivery,
    DeliveryStatus,
    GroupChat,
    Region,
    Resident,
    Role,
    utcnow,
)
from pusher.privacy import recipient_for
from pusher.reports.period import Period, range_of, today_local
from pusher.web.keys import RESOURCES
from pusher.web.local_time import localtime
from pusher.web.params import parse_id
from subscriptions.channel import sms_ok, wechat_ok

PAGE = 100
EXPORT_LIMIT = 100_000
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
Grid = aliased(Region)
# Plain columns, not Delivery objects: 100,000 ORM objects stall the event loop (and the
# garbage collector) for seconds.
WHO = func.coalesce(Resident.name, GroupChat.name)
EXPORT_COLUMNS = (
    *Delivery.__table__.c,
    WHO.label("resident_name"),
    Grid.name.label("grid_name"),
)


def _region_filter(query: Select[Any], code: str) -> Select[Any]:
    inside = select(Region.id).where(Region.path.contains(f"/{code}/"))
    return query.where(Delivery.region_id.in_(inside.scalar_subquery()))


def _dates(q: Mapping[str, str]) -> Period | None:
    """Days (Beijing time) from ``from``/``to``, or the one day ``date``; a malformed
    date is a 422 with a Chinese sentence."""
    if q.get("date") and not (q.get("from") or q.get("to")):
        q = {"from": q["date"], "to": q["date"]}
    return range_of(q, today=today_local())


def filtered(
    request: web.Request,
    me: Viewer,
    columns: tuple[Any, ...] = (Delivery, WHO, Grid.name),
) -> Select[Any]:
    """Deliveries matching the page's filters, inside the viewer's scope (group chats'
    rows beside residents': a group row is scoped by its chat's region)."""
    q = request.query
    query = (
        select(*columns)
        .outerjoin(Resident, Resident.id == Delivery.resident_id)
        .outerjoin(GroupChat, GroupChat.id == Delivery.group_chat_id)
        .outerjoin(Grid, Grid.id == Delivery.region_id)
        .order_by(Delivery.id)
    )
    if (push_id := parse_id(q.get("push", ""))) is not None:
        query = query.where(Delivery.push_id == push_id)
    for key in ("village", "grid"):
        if q.get(key):
            query = _region_filter(query, q[key])
    if q.get("kind") == "group":
        query = query.where(Delivery.group_chat_id.is_not(None))
    elif q.get("kind") == "resident":
        query = query.where(Delivery.resident_id.is_not(None))
    if q.get("channel"):
        query = query.where(Delivery.channel == q["channel"])
    if q.get("status") in DeliveryStatus._value2member_map_:
        query = query.where(Delivery.status == q["status"])
    if (period := _dates(q)) is not None:
        query = query.where(Delivery.created_at >= period.start, Delivery.created_at < period.end)
    if me.scope is not None:
        query = query.where(Delivery.region_id.in_(me.scope or {-1}))
    return query


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


def _row(me: Viewer, d: Any, name: str | None, grid: str | None) -> list[Any]:
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
    page = page_number(request)
    query = filtered(request, me)
    async with request.app[RESOURCES].db() as db:
        total = await db.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = (await db.execute(query.limit(PAGE).offset((page - 1) * PAGE))).all()
    villages, grids = await _places(request)
    return await render(
        request,
        "deliveries.html",
        me,
        header=HEADER,
        rows=[_row(me, *r) for r in rows],
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE)),
        q=request.query,
        villages=villages,
        grids=grids,
        channels=CHANNELS,
        kinds=KINDS,
        statuses=DELIVERY_NAMES,
        qs=request.query_string,
        retried=request.query.get("retried"),
        kept=request.query.get("kept", "0"),
    )


async def export(request: web.Request) -> web.Response:
    me = await viewer(request, *STAFF, Role.GRID_WORKER)
    fmt = request.match_info["fmt"]
    async with transaction(request.app[RESOURCES].db) as db:
        query = filtered(request, me, EXPORT_COLUMNS).limit(EXPORT_LIMIT)
        rows = await fetch_all(db, query)
        await audit(db, me, "deliveries.export", request.path_qs, rows=len(rows), format=fmt)
    out = (_row(me, r, r.resident_name, r.grid_name) for r in rows)
    return await download(fmt, "推送记录", HEADER, out)


async def retry(request: web.Request) -> web.Response:
    """Put failed deliveries of the filter back in the queue and dispatch them again."""
    me = await viewer(request, Role.PUBLISHER, Role.REVIEWER)
    form = await request.post()
    back = safe_back(form.get("back"), request.query)
    resources = request.app[RESOURCES]
    scoped = filtered(request, me).where(
        Delivery.status == DeliveryStatus.FAILED, Delivery.channel.not_in(NOT_RETRIED)
    )
    ids = select(scoped.subquery().c.id)
    async with transaction(resources.db) as db:
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
