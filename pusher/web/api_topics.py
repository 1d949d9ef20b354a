"""JSON API for topics (``/api/v1/topics``): the 26 built-in domains and the office's own.

Who: every signed-in role reads them; the office (publisher, reviewer; admins) adds
its own topics with keywords, renames, reorders and deactivates them.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from pusher.audit import record
from pusher.db import transaction
from pusher.models import Role, Topic
from pusher.town.schemas import TopicBody
from pusher.town.topics import create_topic, get_topic, set_topic_active, topic_json, update_topic
from pusher.web.auth import require
from pusher.web.keys import RESOURCES
from pusher.web.params import int_param, json_object

READ = (Role.PUBLISHER, Role.REVIEWER, Role.LEADER, Role.GRID_WORKER)
WRITE = (Role.PUBLISHER, Role.REVIEWER)


async def list_topics(request: web.Request) -> web.Response:
    await require(request, *READ)
    query = select(Topic).order_by(Topic.position, Topic.builtin.desc(), Topic.id)
    async with request.app[RESOURCES].db() as session:
        rows = (await session.scalars(query)).all()
    return web.json_response({"topics": [topic_json(t) for t in rows]})


async def get_topic_view(request: web.Request) -> web.Response:
    await require(request, *READ)
    async with request.app[RESOURCES].db() as session:
        topic = await get_topic(session, int_param(request, "topic_id"))
    return web.json_response(topic_json(topic))


async def create_topic_view(request: web.Request) -> web.Response:
    user = await require(request, *WRITE)
    body = TopicBody.model_validate(await json_object(request))
    async with transaction(request.app[RESOURCES].db) as session:
        topic = await create_topic(session, body.to_input())
        record(session, actor=user.username, action="topic.create", target=topic.name)
    return web.json_response(topic_json(topic), status=201)


async def update_topic_view(request: web.Request) -> web.Response:
    user = await require(request, *WRITE)
    body = TopicBody.model_validate(await json_object(request))
    async with transaction(request.app[RESOURCES].db) as session:
        topic = await get_topic(session, int_param(request, "topic_id"))
        await update_topic(session, topic, body.to_input())
        if body.active != topic.active:
            await set_topic_active(session, topic, body.active)
        record(session, actor=user.username, action="topic.update", target=topic.name)
    return web.json_response(topic_json(topic))


async def deactivate_topic(request: web.Request) -> web.Response:
    user = await require(request, *WRITE)
    async with transaction(request.app[RESOURCES].db) as session:
        topic = await get_topic(session, int_param(request, "topic_id"))
        await set_topic_active(session, topic, False)
        record(session, actor=user.username, action="topic.deactivate", target=topic.name)
    return web.json_response(topic_json(topic))
