"""The aiohttp application: ``create_app(settings)`` and its routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import cast

from aiohttp import web
from aiohttp.typedefs import Middleware

from pusher.console import setup_console
from pusher.ops.logs import request_id_middleware
from pusher.pipeline.receipts import Parking
from pusher.runtime.context import Resources
from pusher.runtime.queue import LocalQueue
from pusher.runtime.resources import bind_local, open_resources
from pusher.secret_keys import secure
from pusher.settings import Settings
from pusher.web import (
    api_chats,
    api_groups,
    api_items,
    api_lifecycle,
    api_pushes,
    api_regions,
    api_residents,
    api_roster,
    api_sources,
    api_topics,
    openapi,
)
from pusher.web.callbacks import setup_callbacks
from pusher.web.error_middleware import errors_middleware
from pusher.web.keys import RECEIPTS, RESOURCES, SETTINGS
from pusher.web.monitoring import METRICS, setup_health, setup_metrics
from pusher.web.public import setup_public
from pusher.web.receipt_batch import ReceiptApplier
from pusher.web.wx import setup_wx

log = logging.getLogger(__name__)
SWEEP_SECONDS = 15.0
#: Embedded mode purges old rows a minute after start-up (not competing with it), then daily.
PURGE_FIRST_SECONDS = 60.0
PURGE_SECONDS = 24 * 3600.0
POLL_SOURCES_SECONDS = 60.0


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v1/openapi.json", openapi.openapi_view)
    r.add_post("/api/v1/items", api_items.create_item)
    r.add_get("/api/v1/items", api_items.list_items)
    r.add_get("/api/v1/items/{item_id}", api_items.get_item)
    r.add_put("/api/v1/items/{item_id}", api_items.update_item)
    r.add_post("/api/v1/items/{item_id}/submit", api_items.submit_item)
    r.add_post("/api/v1/items/{item_id}/review", api_items.review_item)
    r.add_get("/api/v1/items/{item_id}/preview", api_items.preview_item)
    r.add_post("/api/v1/items/{item_id}/stop", api_lifecycle.stop_item)
    r.add_post("/api/v1/items/{item_id}/withdraw", api_lifecycle.withdraw_item)
    r.add_post("/api/v1/items/{item_id}/expire", api_lifecycle.expire_item)
    r.add_post("/api/v1/items/{item_id}/correct", api_lifecycle.correct_item)
    r.add_get("/api/v1/pushes", api_pushes.list_pushes)
    r.add_get("/api/v1/pushes/{push_id}", api_pushes.get_push)
    r.add_get("/api/v1/deliveries", api_pushes.list_deliveries)
    r.add_post("/api/v1/residents/{resident_id}/erase", api_residents.erase_resident)
    r.add_get("/api/v1/residents", api_roster.list_residents)
    r.add_post("/api/v1/residents", api_roster.create_resident)
    r.add_post("/api/v1/residents/bulk", api_roster.bulk_residents)
    r.add_get("/api/v1/residents/{resident_id:\\d+}", api_roster.get_resident)
    r.add_put("/api/v1/residents/{resident_id:\\d+}", api_roster.update_resident)
    r.add_post("/api/v1/residents/{resident_id:\\d+}/deactivate", api_roster.deactivate_resident)
    r.add_get("/api/v1/sources", api_sources.list_sources)
    r.add_post("/api/v1/sources", api_sources.create_source)
    r.add_get("/api/v1/sources/{source_id}", api_sources.get_source_view)
    r.add_put("/api/v1/sources/{source_id}", api_sources.update_source)
    r.add_post("/api/v1/sources/{source_id}/fetch", api_sources.fetch_source)
    setup_town_routes(app)


def setup_town_routes(app: web.Application) -> None:
    """The town's own structure: regions, topics, groups, group chats (issue 19)."""
    r = app.router
    r.add_get("/api/v1/regions", api_regions.list_regions)
    r.add_post("/api/v1/regions", api_regions.create_region_view)
    r.add_post("/api/v1/regions/import", api_regions.import_regions_view)
    r.add_get("/api/v1/regions/{region_id:\\d+}", api_regions.get_region_view)
    r.add_put("/api/v1/regions/{region_id:\\d+}", api_regions.update_region)
    r.add_post("/api/v1/regions/{region_id:\\d+}/deactivate", api_regions.retire_region_view)
    r.add_get("/api/v1/topics", api_topics.list_topics)
    r.add_post("/api/v1/topics", api_topics.create_topic_view)
    r.add_get("/api/v1/topics/{topic_id:\\d+}", api_topics.get_topic_view)
    r.add_put("/api/v1/topics/{topic_id:\\d+}", api_topics.update_topic_view)
    r.add_post("/api/v1/topics/{topic_id:\\d+}/deactivate", api_topics.deactivate_topic)
    r.add_get("/api/v1/groups", api_groups.list_groups)
    r.add_post("/api/v1/groups", api_groups.create_group_view)
    r.add_get("/api/v1/groups/{group_id:\\d+}", api_groups.get_group_view)
    r.add_put("/api/v1/groups/{group_id:\\d+}", api_groups.update_group_view)
    r.add_post("/api/v1/groups/{group_id:\\d+}/deactivate", api_groups.deactivate_group)
    r.add_get("/api/v1/groups/{group_id:\\d+}/preview", api_groups.preview_group)
    r.add_put("/api/v1/groups/{group_id:\\d+}/members", api_groups.put_members)
    r.add_get("/api/v1/group-chats", api_chats.list_chats)
    r.add_post("/api/v1/group-chats", api_chats.create_chat_view)
    r.add_get("/api/v1/group-chats/{chat_id:\\d+}", api_chats.get_chat_view)
    r.add_put("/api/v1/group-chats/{chat_id:\\d+}", api_chats.update_chat_view)
    r.add_post("/api/v1/group-chats/{chat_id:\\d+}/deactivate", api_chats.deactivate_chat)
    r.add_post("/api/v1/group-chats/{chat_id:\\d+}/test", api_chats.test_chat_view)


def create_app(settings: Settings, *, resources: Resources | None = None) -> web.Application:
    """The web app; in embedded mode it also runs the pipeline's jobs in process.

    ``resources`` lets a caller (the demo, tests) share resources it already opened.
    Raises :class:`~pusher.secret_keys.InsecureSettings` in production with weak secrets;
    in embedded mode, secrets left unset are generated and kept beside the database.
    """
    settings = secure(settings)
    app = web.Application(
        middlewares=[cast(Middleware, request_id_middleware()), errors_middleware],
        client_max_size=2 * 1024 * 1024,
    )
    setup_metrics(app, resources.metrics if resources is not None else None)
    setup_health(app)
    app[SETTINGS] = settings
    if resources is not None:
        app[RESOURCES] = resources
    else:
        app.cleanup_ctx.append(_resources_ctx)
    app.cleanup_ctx.append(_sweeper_ctx)
    app.cleanup_ctx.append(_receipts_ctx)
    setup_routes(app)
    setup_callbacks(app)
    setup_public(app)
    setup_console(app)
    setup_wx(app)
    return app


async def _resources_ctx(app: web.Application) -> AsyncIterator[None]:
    async with open_resources(app[SETTINGS], metrics=app[METRICS]) as resources:
        bind_local(resources)
        app[RESOURCES] = resources
        yield


async def _receipts_ctx(app: web.Application) -> AsyncIterator[None]:
    """Callback receipts are applied in shared transactions (see receipt_batch)."""
    resources, settings = app[RESOURCES], app[SETTINGS]
    parking = Parking(hours=settings.parked_receipt_hours, cap=settings.parked_receipt_cap)
    app[RECEIPTS] = applier = ReceiptApplier(
        resources.db, resources.queue, parking=parking, metrics=resources.metrics
    )
    yield
    await applier.close()


async def _sweeper_ctx(app: web.Application) -> AsyncIterator[None]:
    """Embedded mode: sweep for due retries and expired leases now and then, and purge
    rows past their retention daily (what the arq cron jobs do in production)."""
    resources = app[RESOURCES]
    tasks = []
    if isinstance(resources.queue, LocalQueue):
        tasks.append(asyncio.create_task(_sweep_forever(resources, resources.queue)))
        tasks.append(asyncio.create_task(_purge_daily(resources.queue)))
        tasks.append(asyncio.create_task(_poll_sources_forever(resources.queue)))
        tasks.append(asyncio.create_task(_group_tasks_forever(resources.queue)))
    yield
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _sweep_forever(resources: Resources, queue: LocalQueue) -> None:
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        queue.forget("sweep")
        queue.forget("notify_staff")  # its ids (per sweep, per nudge) need not pile up
        await queue.enqueue("sweep", job_id="sweep")


async def _poll_sources_forever(queue: LocalQueue) -> None:
    """Each minute, poll the county sources that are due (arq cron in production)."""
    while True:
        await asyncio.sleep(POLL_SOURCES_SECONDS)
        queue.forget("poll_sources")
        await queue.enqueue("poll_sources", job_id="poll_sources")


async def _group_tasks_forever(queue: LocalQueue) -> None:
    """Each minute, the customer groups' mass messages: results, reminders (arq cron in
    production)."""
    while True:
        await asyncio.sleep(POLL_SOURCES_SECONDS)
        queue.forget("group_tasks:poll")
        await queue.enqueue("group_tasks", job_id="group_tasks:poll")


async def _purge_daily(queue: LocalQueue) -> None:
    await asyncio.sleep(PURGE_FIRST_SECONDS)
    while True:
        queue.forget("purge")
        await queue.enqueue("purge_old", job_id="purge")
        await asyncio.sleep(PURGE_SECONDS)
