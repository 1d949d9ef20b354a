"""Items: the list, the create/edit form and submitting for review."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pusher.console import itemform
from pusher.console.base import STAFF, Viewer, audit, page_number, render, viewer
from pusher.db import transaction
from pusher.errors import NotFound, UserError
from pusher.models import Item, ItemStatus, Region, Role, Topic
from pusher.pipeline import ingest, review
from pusher.staff.notify import nudge
from pusher.web.keys import RESOURCES, SETTINGS
from pusher.web.params import parse_id

STATUS_NAMES = {
    ItemStatus.DRAFT: "草稿",
    ItemStatus.SUBMITTED: "待审查",
    ItemStatus.CHECKED: "待领导审批",
    ItemStatus.APPROVED: "已批准",
    ItemStatus.REJECTED: "已退回",
    ItemStatus.PUSHED: "已推送",
}
PAGE = 50


async def load_item(db: AsyncSession, raw: str) -> Item:
    item = await db.get(Item, item_id) if (item_id := parse_id(raw)) else None
    if item is None:
        raise NotFound("这条信息不存在或已被删除。")
    return item


async def items_list(request: web.Request) -> web.Response:
    me = await viewer(request, *STAFF)
    status = request.query.get("status", "")
    page = page_number(request)
    query = select(Item).order_by(Item.id.desc())
    if status in ItemStatus._value2member_map_:
        query = query.where(Item.status == status)
    async with request.app[RESOURCES].db() as db:
        total = await db.scalar(select(func.count()).select_from(query.subquery()))
        items = (await db.scalars(query.limit(PAGE).offset((page - 1) * PAGE))).all()
    return await render(
        request,
        "items.html",
        me,
        items=items,
        chosen=status,
        names=STATUS_NAMES,
        total=total or 0,
        page=page,
        pages=max(1, -(-(total or 0) // PAGE)),
    )


async def _form_page(
    request: web.Request, me: Viewer, form: itemform.ItemForm, item: Item | None, status: int = 200
) -> web.Response:
    async with request.app[RESOURCES].db() as db:
        options = await itemform.choices(db)
    return await render(
        request, "item_form.html", me, form=form, item=item, status=status, **options
    )


async def item_new(request: web.Request) -> web.Response:
    me = await viewer(request, Role.PUBLISHER)
    return await _form_page(request, me, itemform.blank(me.user.display_name), None)


async def _topic_names(db: AsyncSession) -> set[str]:
    return set((await db.scalars(select(Topic.name))).all())


async def item_create(request: web.Request) -> web.Response:
    me = await viewer(request, Role.PUBLISHER)
    return await _save(request, me, None)


async def item_edit(request: web.Request) -> web.Response:
    me = await viewer(request, Role.PUBLISHER)
    async with request.app[RESOURCES].db() as db:
        item = await load_item(db, request.match_info["item_id"])
        code = await db.scalar(select(Region.code).where(Region.id == item.region_id))
    return await _form_page(request, me, itemform.from_item(item, code or ""), item)


async def item_update(request: web.Request) -> web.Response:
    me = await viewer(request, Role.PUBLISHER)
    async with request.app[RESOURCES].db() as db:
        item = await load_item(db, request.match_info["item_id"])
    return await _save(request, me, item)


async def _save(request: web.Request, me: Viewer, item: Item | None) -> web.Response:
    """Validate the form, then create or update; field errors re-show the form (422)."""
    posted = await request.post()
    async with request.app[RESOURCES].db() as db:
        form, data = itemform.parse(posted, await _topic_names(db))
    if data is None:
        return await _form_page(request, me, form, item, status=422)
    limit = request.app[SETTINGS].max_body_chars
    try:
        async with transaction(request.app[RESOURCES].db) as db:
            if item is None:
                item, _ = await ingest.create_item(
                    db, data, max_body_chars=limit, created_by=me.user.id
                )
            else:
                item = await load_item(db, str(item.id))
                await ingest.update_item(db, item, data, max_body_chars=limit)
            await audit(db, me, "item.save", f"item:{item.id}", title=item.title)
    except UserError as exc:
        form.errors[exc.field or "title"] = exc.message
        return await _form_page(request, me, form, item, status=422)
    if posted.get("then") == "submit":
        return await _submit(request, me, str(item.id))
    raise web.HTTPFound(f"/items/{item.id}")


async def item_submit(request: web.Request) -> web.Response:
    me = await viewer(request, Role.PUBLISHER)
    return await _submit(request, me, request.match_info["item_id"])


async def _submit(request: web.Request, me: Viewer, raw_id: str) -> web.Response:
    async with transaction(request.app[RESOURCES].db) as db:
        item = await load_item(db, raw_id)
        await review.submit(db, item, actor=me.name)
        await audit(db, me, "item.submit", f"item:{item.id}", title=item.title)
    await nudge(request.app[RESOURCES].queue)
    raise web.HTTPFound(f"/items/{item.id}")
