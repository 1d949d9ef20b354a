"""JSON API for items: create, list, get, edit, submit for review, review.

Roles per route are in :mod:`pusher.web.auth`; grid workers do not read or write items.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from pusher.db import transaction
from pusher.errors import InvalidInput, NotFound
from pusher.models import Item, ItemMatch, ItemStatus, Push, Review
from pusher.pipeline import domain_review, ingest, review
from pusher.pipeline.preview import preview
from pusher.web.auth import READ_ITEMS, REVIEW_ITEMS, WRITE_ITEMS, require
from pusher.web.keys import RESOURCES, SETTINGS
from pusher.web.params import int_param, json_object, page


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step: review.Step
    decision: review.Decision
    opinion: str = Field(default="", max_length=1000)
    publish_form: str = Field(default="", max_length=100)
    #: with an approval: the domain the reviewer confirms, or null / "none" for no domain;
    #: left out, the domain stays as it is (declared, else classified at matching)
    domain: str | None = Field(default=None, min_length=1, max_length=64)

    def domain_choice(self) -> str | None:
        """The reviewer's domain choice (a name or ``none``), None when not given."""
        if "domain" not in self.model_fields_set:
            return None
        return self.domain or domain_review.NO_DOMAIN


def item_json(item: Item) -> dict[str, Any]:
    return item.model_dump(mode="json")


async def review_json(session: Any, item: Item) -> dict[str, Any]:
    """The item with who marked it urgent (``urgent_marked_by``), for reviewers."""
    return item_json(item) | {"urgent_marked_by": await review.urgent_marker(session, item)}


async def create_item(request: web.Request) -> web.Response:
    user = await require(request, *WRITE_ITEMS)
    data = ingest.ItemIn.model_validate(await json_object(request))
    async with transaction(request.app[RESOURCES].db) as session:
        item, new = await ingest.create_item(
            session, data, max_body_chars=request.app[SETTINGS].max_body_chars, created_by=user.id
        )
    return web.json_response(item_json(item), status=201 if new else 200)


async def list_items(request: web.Request) -> web.Response:
    await require(request, *READ_ITEMS)
    limit, offset = page(request)
    query = select(Item).order_by(Item.id.desc())
    status = request.query.get("status")
    if status:
        if status not in ItemStatus._value2member_map_:
            raise InvalidInput(f"未知的状态：{status}", field="status")
        query = query.where(Item.status == status)
    async with request.app[RESOURCES].db() as session:
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
        items = (await session.scalars(query.limit(limit).offset(offset))).all()
    return web.json_response({"total": total, "items": [item_json(i) for i in items]})


async def get_item(request: web.Request) -> web.Response:
    await require(request, *READ_ITEMS)
    item_id = int_param(request, "item_id")
    async with request.app[RESOURCES].db() as session:
        item = await _item(session, item_id)
        reviews = (await session.scalars(select(Review).where(Review.item_id == item_id))).all()
        matches = (
            await session.scalars(select(ItemMatch).where(ItemMatch.item_id == item_id))
        ).all()
        push = await session.scalar(select(Push).where(Push.item_id == item_id))
        shown = await review_json(session, item)
        tokenizer = await _tokenizer(request, session)
    suggestion = await domain_review.suggest(item, tokenizer=tokenizer)
    return web.json_response(
        shown
        | {
            "reviews": [r.model_dump(mode="json") for r in reviews],
            "matches": [m.model_dump(mode="json") for m in matches],
            "push_id": push.id if push else None,
            "domain_review": domain_review.explain(item, suggestion),
        }
    )


async def _tokenizer(request: web.Request, session: Any) -> Any:
    rulebook = request.app[RESOURCES].rulebook
    await rulebook.current(session)  # builds the tokenizer on first use (in a thread)
    return rulebook.tokenizer


async def update_item(request: web.Request) -> web.Response:
    await require(request, *WRITE_ITEMS)
    data = ingest.ItemIn.model_validate(await json_object(request))
    async with transaction(request.app[RESOURCES].db) as session:
        item = await _item(session, int_param(request, "item_id"))
        await ingest.update_item(
            session, item, data, max_body_chars=request.app[SETTINGS].max_body_chars
        )
    return web.json_response(item_json(item))


async def submit_item(request: web.Request) -> web.Response:
    user = await require(request, *WRITE_ITEMS)
    async with transaction(request.app[RESOURCES].db) as session:
        item = await _item(session, int_param(request, "item_id"))
        await review.submit(session, item, actor=user.username)
    return web.json_response(item_json(item))


async def review_item(request: web.Request) -> web.Response:
    user = await require(request, *REVIEW_ITEMS)
    data = ReviewIn.model_validate(await json_object(request))
    resources = request.app[RESOURCES]
    try:
        async with transaction(resources.db) as session:
            item = await _item(session, int_param(request, "item_id"))
            choice = data.domain_choice()
            if choice is not None and data.decision is review.Decision.APPROVE:
                # taken with the step: a refused step rolls the choice back with it
                suggestion = await domain_review.suggest(
                    item, tokenizer=await _tokenizer(request, session)
                )
                await domain_review.choose(
                    session, item, choice=choice, actor=user.username, suggestion=suggestion
                )
            approved = await review.decide(
                session,
                item,
                step=data.step,
                decision=data.decision,
                actor=review.Actor.of(user),
                opinion=data.opinion,
                publish_form=data.publish_form,
            )
    except review.ReviewRefused as exc:
        await review.record_refusal(resources.db, exc)
        raise
    if approved and review.pushable(item):
        await resources.queue.enqueue("process_item", item.id, job_id=f"process:{item.id}")
    return web.json_response(item_json(item))


async def _item(session: Any, item_id: int) -> Item:
    item = await session.get(Item, item_id)
    if item is None:
        raise NotFound(f"信息 {item_id} 不存在")
    assert isinstance(item, Item)
    return item


async def preview_item(request: web.Request) -> web.Response:
    """What the push would say and cost, before approval (nothing is written)."""
    await require(request, *READ_ITEMS)
    resources = request.app[RESOURCES]
    async with resources.db() as session:
        item = await _item(session, int_param(request, "item_id"))
        result = await preview(session, item, resources=resources)
        await session.rollback()
    return web.json_response(result)
