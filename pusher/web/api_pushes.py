"""JSON API for pushes and deliveries (read-only here; retries come with the console).

Grid workers see only deliveries whose region lies inside their assigned regions: the
lists and a push's counts are cut to their scope, and asking for a resident or a region
outside it is refused (403) and written to the audit log. A push they have no delivery of
answers 404, like one that does not exist, so ids cannot be probed.

Addresses are personal data: delivery lists mask phone numbers and openids
(:mod:`pusher.privacy`); ``?full=1`` gives them whole to the roles that may see them
(admins, grid workers for their own grids) and is refused to others. Every list read is
written to the audit log with its filter and row count.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.audit import record
from pusher.db import transaction
from pusher.errors import Forbidden, InvalidInput, NotFound
from pusher.models import Delivery, DeliveryStatus, Push, Region, Resident
from pusher.ops.logs import mask_text
from pusher.privacy import mask_recipient, sees_full
from pusher.web.auth import READ_DELIVERIES, Caller, caller, refuse
from pusher.web.delivery_log import (
    COUNT_CAP,
    KINDS,
    LogFilter,
    capped_total,
    conditions,
    narrowed,
    regions_under,
    rows_query,
)
from pusher.web.keys import RESOURCES
from pusher.web.params import int_param, page, query_id

D = Delivery.__table__.c
FULL_REFUSED = "你的角色不能查看完整的手机号和微信 openid。此次访问已记入操作日志。"


def in_scope(me: Caller) -> ColumnElement[bool] | None:
    """The condition that keeps deliveries inside ``me``'s regions (None: no limit)."""
    if me.scope is None:
        return None
    return D.region_id.in_(sorted(me.scope) or [-1])


def _scoped(query: Select[Any], me: Caller) -> Select[Any]:
    condition = in_scope(me)
    return query if condition is None else query.where(condition)


async def list_pushes(request: web.Request) -> web.Response:
    me = await caller(request, *READ_DELIVERIES)
    limit, offset = page(request)
    query = select(Push).order_by(Push.id.desc())
    item_id = query_id(request, "item_id")
    if item_id is not None:
        query = query.where(Push.item_id == item_id)
    if me.scope is not None:
        query = query.where(Push.id.in_(_scoped(select(D.push_id), me).scalar_subquery()))
    async with request.app[RESOURCES].db() as session:
        pushes = (await session.scalars(query.limit(limit).offset(offset))).all()
    return web.json_response({"pushes": [p.model_dump(mode="json") for p in pushes]})


async def get_push(request: web.Request) -> web.Response:
    """A push with its delivery counts per channel and status (a grid worker's own only)."""
    me = await caller(request, *READ_DELIVERIES)
    push_id = int_param(request, "push_id")
    async with request.app[RESOURCES].db() as session:
        push = await session.get(Push, push_id)
        if push is None or not await _push_in_scope(session, me, push_id):
            raise NotFound(f"推送 {push_id} 不存在")
        query = select(D.channel, D.status, func.count()).where(D.push_id == push_id)
        rows = await session.execute(_scoped(query, me).group_by(D.channel, D.status))
        counts: dict[str, dict[str, int]] = {}
        for channel, status, count in rows:
            counts.setdefault(channel, {})[status] = count
    scope = {"scope": "own_regions"} if me.scope is not None else {}
    return web.json_response(push.model_dump(mode="json") | {"counts": counts} | scope)


async def _push_in_scope(session: AsyncSession, me: Caller, push_id: int) -> bool:
    """Whether ``me`` sees the push: the condition :func:`list_pushes` uses (one of its
    deliveries lies inside their regions); callers without a scope see every push."""
    if me.scope is None:
        return True
    mine = _scoped(select(D.id).where(D.push_id == push_id).limit(1), me)
    return await session.scalar(mine) is not None


async def _filtered(
    request: web.Request, session: AsyncSession, me: Caller
) -> list[ColumnElement[bool]]:
    """The list's conditions (shaped by :mod:`pusher.web.delivery_log`)."""
    resident_id = query_id(request, "resident_id")
    if resident_id is not None:
        await _check_resident(request, session, me, resident_id)
    status = request.query.get("status")
    if status and status not in DeliveryStatus._value2member_map_:
        raise InvalidInput(f"未知的投递状态：{status}", field="status")
    kind = request.query.get("kind", "")
    if kind and kind not in KINDS:
        raise InvalidInput(f"kind 只能是 {' 或 '.join(KINDS)}", field="kind")
    regions = me.scope
    region = request.query.get("region")
    if region:
        await _check_region(request, session, me, region)
        regions = narrowed(regions, await regions_under(session, region))
    f = LogFilter(
        push_id=query_id(request, "push_id"),
        resident_id=resident_id,
        region_ids=regions,
        channel=request.query.get("channel") or None,
        status=status or None,
        kind=kind or None,
    )
    return await conditions(session, f)


async def _check_resident(
    request: web.Request, session: AsyncSession, me: Caller, resident_id: int
) -> None:
    if me.scope is None:
        return
    # An unknown resident is refused like a foreign one, so ids cannot be probed.
    region_id = await session.scalar(select(Resident.region_id).where(Resident.id == resident_id))
    if not me.sees(region_id):
        await refuse(request, me, target=f"resident:{resident_id}")


async def _check_region(request: web.Request, session: AsyncSession, me: Caller, code: str) -> None:
    if me.scope is None:
        return
    region_id = await session.scalar(select(Region.id).where(Region.code == code))
    if not me.sees(region_id):
        await refuse(request, me, target=f"region:{code}")


async def list_deliveries(request: web.Request) -> web.Response:
    """Deliveries of the filter, addresses masked unless ``full=1``; the read is audited.

    ``total`` is counted up to :data:`~pusher.web.delivery_log.COUNT_CAP` (``total_capped``
    says there are more); ``after`` (the last id of the page before) pages by key, which
    stays fast deep into a large log where ``offset`` does not."""
    me = await caller(request, *READ_DELIVERIES)
    limit, offset = page(request, max_limit=1000)
    after = query_id(request, "after")
    full = await _wants_full(request, me)
    async with request.app[RESOURCES].db() as session:
        where = await _filtered(request, session, me)
        query = rows_query((Delivery,), where, after=after, limit=limit).offset(offset)
        rows = (await session.scalars(query)).all()
        total = await capped_total(session, where)
    await _audit_read(request, me, count=len(rows), total=total, full=full)
    shown = [_shown(d, full=full) for d in rows]
    capped = total > COUNT_CAP
    body = {"total": min(total, COUNT_CAP), "total_capped": capped, "deliveries": shown}
    return web.json_response(body)


async def _wants_full(request: web.Request, me: Caller) -> bool:
    """``full=1``: whole addresses, for the roles that may see them; refused otherwise."""
    raw = request.query.get("full")
    if raw is None:
        return False
    if raw not in ("0", "1"):  # an empty ``full=`` too, as the OpenAPI document says
        raise InvalidInput("full 只能是 0 或 1", field="full")
    if raw != "1":
        return False
    if not sees_full(me.user.role):
        detail = {"why": "role", "path": request.path_qs, "method": request.method}
        await _audit(request, me, "access.denied", "deliveries:full", detail | {"via": "api"})
        raise Forbidden(FULL_REFUSED)
    return True


def _shown(d: Delivery, *, full: bool) -> dict[str, Any]:
    out = d.model_dump(mode="json")
    if not full:
        out["recipient"] = mask_recipient(d.channel, d.recipient) or None
        out["error_message"] = mask_text(d.error_message) if d.error_message else None
    return out


async def _audit_read(
    request: web.Request, me: Caller, *, count: int, total: int, full: bool
) -> None:
    """One audit row per list read of personal data: who, which filter, how many rows."""
    detail = {
        "filter": {k: v[:100] for k, v in list(request.query.items())[:20]},
        "count": count,
        "total": total,
        "full": full,
        "via": "api",
    }
    await _audit(request, me, "deliveries.read", request.path, detail)


async def _audit(
    request: web.Request, me: Caller, action: str, target: str, detail: dict[str, Any]
) -> None:
    async with transaction(request.app[RESOURCES].db) as session:
        record(session, actor=me.user.username, action=action, target=target, detail=detail)
