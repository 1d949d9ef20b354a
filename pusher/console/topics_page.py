"""Topics in the console: the 26 built-in domains and the office's own (with keywords),
ordered for residents; office topics can be deactivated."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select

from pusher.console.base import STAFF, Viewer, audit, render, viewer
from pusher.console.flash import flash, take_flash
from pusher.db import transaction
from pusher.errors import UserError
from pusher.models import Role, Topic
from pusher.town.topics import (
    TopicIn,
    clean_keywords,
    create_topic,
    get_topic,
    set_topic_active,
    update_topic,
)
from pusher.web.keys import RESOURCES
from pusher.web.params import int_param, parse_int

KEEPERS = (Role.PUBLISHER, Role.REVIEWER)
MAX_FIELD = 1000


async def _page(
    request: web.Request, me: Viewer, *, status: int = 200, error: str = ""
) -> web.Response:
    query = select(Topic).order_by(Topic.position, Topic.builtin.desc(), Topic.id)
    async with request.app[RESOURCES].db() as db:
        topics = (await db.scalars(query)).all()
    return await render(
        request, "topics.html", me, status=status, topics=topics, error=error,
        done=take_flash(request), keeper=me.can(*KEEPERS),
    )  # fmt: skip


async def topics_page(request: web.Request) -> web.Response:
    return await _page(request, await viewer(request, *STAFF))


def _input(form: Any) -> TopicIn:
    position = parse_int(str(form.get("position", "0"))[:10], low=-10_000, high=10_000) or 0
    keywords = clean_keywords(str(form.get("keywords", ""))[:MAX_FIELD])
    return TopicIn(str(form.get("name", ""))[:MAX_FIELD], keywords, position)


async def topic_create(request: web.Request) -> web.Response:
    me = await viewer(request, *KEEPERS)
    form = await request.post()
    try:
        async with transaction(request.app[RESOURCES].db) as db:
            topic = await create_topic(db, _input(form))
            await audit(db, me, "topic.create", topic.name)
    except UserError as exc:
        return await _page(request, me, status=exc.status, error=exc.message)
    flash(request, f"已新增领域「{topic.name}」，订阅它的居民会收到含关键词的信息。")
    raise web.HTTPFound("/topics")


async def topic_update(request: web.Request) -> web.Response:
    """One of: save (name, keywords, order), deactivate, reactivate."""
    me = await viewer(request, *KEEPERS)
    form = await request.post()
    action = str(form.get("action", "save"))
    try:
        async with transaction(request.app[RESOURCES].db) as db:
            topic = await get_topic(db, int_param(request, "topic_id"))
            if action == "save":
                await update_topic(db, topic, _input(form))
            else:
                await set_topic_active(db, topic, action == "reactivate")
            await audit(db, me, f"topic.{action}", topic.name)
    except UserError as exc:
        return await _page(request, me, status=exc.status, error=exc.message)
    flash(request, f"已保存「{topic.name}」。")
    raise web.HTTPFound("/topics")
