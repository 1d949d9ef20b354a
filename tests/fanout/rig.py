"""A small town wired to the WeChat and SMS emulators, with our callbacks served.

Everything real: the production channel clients talk to the emulators over
HTTP, the emulators post receipts and replies to our ``/callbacks/`` routes.
Jobs are not run by a queue here: the tests call the job functions and
``dispatch`` themselves, so they decide what runs twice, concurrently or dies.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr
from sqlalchemy import select, update

from channels.aliyun_sms import AliyunSmsSettings
from channels.base import Channel, ChannelKind, Message, Outcome
from channels.emulators import aliyun_sms, tencent_sms, wechat
from channels.emulators.common import Inbox
from channels.tencent_sms import TencentSmsSettings
from channels.wechat import WeChatSettings
from pusher.db import transaction
from pusher.demo.town import Town
from pusher.models import Delivery, DeliveryStatus, Push, Resident, Urgency
from pusher.pipeline.dispatch import Dispatcher
from pusher.runtime.context import Resources
from pusher.runtime.jobs import process_item
from pusher.runtime.resources import open_resources
from pusher.settings import Settings
from pusher.web.app import create_app
from tests.channels.rigs import SMS_TEMPLATES
from tests.spine.conftest import start
from tests.spine.flow import publish

SECRET = "fanout-callback-secret-0123456789abcdef"
WX_TOKEN = "fanout-wx-token"
#: Statuses of a delivery the provider took.
ACCEPTED = {DeliveryStatus.SENT.value, DeliveryStatus.DELIVERED.value}


def planned_in_chunks(request: Any, chunk: int, span: int) -> Settings:
    """The settings of the database ``request.param`` names ("sqlite" or "postgresql"),
    planning ``chunk`` residents per job and ``span`` per claim range."""
    name = "sqlite_settings" if request.param == "sqlite" else "production_settings"
    base: Settings = request.getfixturevalue(name)
    dispatch = base.dispatch.model_copy(update={"plan_chunk": chunk, "claim_range": span})
    return base.model_copy(update={"dispatch": dispatch})


@dataclass
class RecordingQueue:
    """Keeps what the jobs enqueue instead of running it."""

    jobs: list[tuple[str, tuple[Any, ...], str | None]] = field(default_factory=list)

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None) -> None:
        self.jobs.append((name, args, job_id))


@dataclass
class Rig:
    """The running town: our resources, the emulator apps and our base URL."""

    town: Town
    resources: Resources
    wechat: web.Application
    sms: web.Application
    base: str
    sms_provider: str

    @property
    def ctx(self) -> dict[str, Any]:
        """A job context, as arq or the in-process runner would pass it."""
        return {"resources": self.resources}

    def dispatcher(self, worker: str, **changes: Any) -> Dispatcher:
        return replace(self.resources.dispatcher(), worker=worker, **changes)

    @property
    def wechat_inbox(self) -> Inbox:
        return self.wechat[wechat.STATE].inbox

    @property
    def sms_inbox(self) -> Inbox:
        if self.sms_provider == "tencent":
            return self.sms[tencent_sms.STATE].inbox
        return self.sms[aliyun_sms.STATE].inbox

    async def drain(self) -> None:
        """Wait until the emulators posted every receipt they owe."""
        if self.sms_provider == "tencent":
            await self.sms[tencent_sms.STATE].drain()
        else:
            await self.sms[aliyun_sms.STATE].drain()
        await self.wechat[wechat.STATE].drain()

    async def plan(self, item_id: int) -> int:
        """Match and plan ``item_id`` with the service's own job; the push id."""
        push_id = await process_item(self.ctx, item_id)
        assert push_id is not None
        return push_id

    async def deliveries(self, push_id: int) -> list[Delivery]:
        async with self.resources.db() as session:
            rows = await session.scalars(
                select(Delivery).where(Delivery.push_id == push_id).order_by(Delivery.id)
            )
            return list(rows)

    async def resident(self, **where: Any) -> Resident:
        async with self.resources.db() as session:
            query = select(Resident).filter_by(**where).order_by(Resident.id).limit(1)
            found = await session.scalar(query)
        assert found is not None, f"no resident with {where}"
        return found

    async def expire_leases(self) -> None:
        """Every row a worker holds is free again, as if its lease had run out."""
        past = datetime.now(UTC) - timedelta(seconds=1)
        async with transaction(self.resources.db) as session:
            await session.execute(
                update(Delivery)
                .where(Delivery.status == DeliveryStatus.SENDING)
                .values(lease_until=past)
            )

    async def push_of(self, item_id: int) -> Push:
        async with self.resources.db() as session:
            push = await session.scalar(select(Push).where(Push.item_id == item_id))
        assert push is not None
        return push


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ProviderServer(TestServer):
    """A test server that, like a real gateway, finishes requests whose client gave up
    (aiohttp's TestServer cancels them, which would hide the duplicate-on-timeout case)."""

    async def _make_runner(self, **kwargs: Any) -> web.BaseRunner:
        kwargs["handler_cancellation"] = False
        return web.AppRunner(self.app, **kwargs)


async def _serve(app: web.Application, port: int = 0) -> TestServer:
    server = ProviderServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    return server


def _sms_app(provider: str, base: str, cap: int | None, delay: float) -> web.Application:
    report = f"{base}/callbacks/{provider}/report/{SECRET}"
    reply = f"{base}/callbacks/{provider}/reply/{SECRET}"
    if provider == "tencent":
        return tencent_sms.build_app(
            secret_id="tc-id",
            secret_key="tc-key",
            report_url=report,
            up_url=reply,
            daily_cap_per_number=cap,
            report_delay=delay,
        )
    return aliyun_sms.build_app(
        access_key_id="ak",
        access_key_secret="ak-secret",
        report_url=report,
        up_url=reply,
        daily_cap_per_number=cap,
        report_delay=0.01,
    )


def _settings(
    base: Settings, urls: dict[str, str], provider: str, app_id: str, sms_timeout: float
) -> Settings:
    return base.model_copy(
        update={
            "callback_secret": SecretStr(SECRET),
            "sms_provider": provider,
            "wechat": WeChatSettings(
                app_id=app_id,
                app_secret=SecretStr("wx-secret"),
                token=SecretStr(WX_TOKEN),
                base_url=urls["wechat"],
                template_id="TPL-notice",
            ),
            "aliyun_sms": AliyunSmsSettings(
                access_key_id="ak",
                access_key_secret=SecretStr("ak-secret"),
                sign_name="青山镇",
                template_code="SMS_100",
                base_url=urls["sms"],
                templates_file=str(SMS_TEMPLATES / "aliyun.yaml"),
                timeout_seconds=sms_timeout,
            )
            if provider == "aliyun"
            else AliyunSmsSettings(),
            "tencent_sms": TencentSmsSettings(
                secret_id="tc-id",
                secret_key=SecretStr("tc-key"),
                sdk_app_id="1400000001",
                sign_name="青山镇",
                template_id="T100",
                base_url=urls["sms"],
                templates_file=str(SMS_TEMPLATES / "tencent.yaml"),
            )
            if provider == "tencent"
            else TencentSmsSettings(),
        }
    )


@asynccontextmanager
async def running(
    settings: Settings,
    *,
    residents: int = 120,
    sms: Literal["aliyun", "tencent"] = "aliyun",
    daily_cap: int | None = None,
    wechat_report: bool = True,
    sms_timeout: float = 10.0,
    report_delay: float = 0.01,
) -> AsyncIterator[Rig]:
    """Build the town, start the emulators and our callback server; stop them after.
    ``report_delay``: seconds the SMS emulator takes to report a message delivered."""
    town, _ = await start(settings, residents=residents)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    app_id = f"wx-{uuid.uuid4().hex[:10]}"  # tokens are cached in Redis by app id
    wx = wechat.build_app(
        app_id=app_id,
        app_secret="wx-secret",
        callback_url=f"{base}/callbacks/wechat" if wechat_report else None,
        callback_token=WX_TOKEN,
        callback_delay=0.01,
    )
    sms_app = _sms_app(sms, base, daily_cap, report_delay)
    servers = [await _serve(wx), await _serve(sms_app)]
    urls = {
        "wechat": f"http://127.0.0.1:{servers[0].port}/",
        "sms": f"http://127.0.0.1:{servers[1].port}/",
    }
    configured = _settings(settings, urls, sms, app_id, sms_timeout)
    async with open_resources(configured, queue=RecordingQueue()) as resources:
        ours = await _serve(create_app(configured, resources=resources), port)
        try:
            yield Rig(town, resources, wx, sms_app, base, sms)
        finally:
            await ours.close()
            for server in servers:
                await server.close()


class WorkerDied(Exception):
    """Stands for a worker process killed between the provider call and the status write."""


class DiesAfterSend(Channel):
    """The real channel, except that the worker "dies" right after the provider accepted."""

    receipts = True

    def __init__(self, inner: Channel) -> None:
        self.kind = inner.kind  # type: ignore[misc]
        self.provider = inner.provider  # type: ignore[misc]
        self.limits = inner.limits  # type: ignore[misc]
        self._inner = inner
        self.sent: list[Outcome] = []

    async def send(self, messages: Sequence[Message]) -> list[Outcome]:
        self.sent = await self._inner.send(messages)
        raise WorkerDied(f"killed after sending {len(messages)} messages")

    async def lookup(self, messages: Sequence[Message]) -> list[Outcome | None]:
        return await self._inner.lookup(messages)


def channels_with(rig: Rig, kind: ChannelKind, channel: Channel) -> dict[ChannelKind, Channel]:
    """The rig's channels with ``kind`` replaced by ``channel``."""
    return {**rig.resources.channels, kind: channel}


async def urgent_push(rig: Rig) -> int:
    """Publish a town-wide flood warning and plan it; the push id."""
    item_id = await publish(
        rig.resources,
        region_code=rig.town.town_code,
        title="青山镇山洪预警",
        body="上游水库泄洪，请沿河群众立即转移到安全地带。",
        urgency=Urgency.URGENT,
    )
    return await rig.plan(item_id)
