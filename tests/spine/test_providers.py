"""The whole flow over the providers' real wire protocols, against local emulators.

Our production clients talk to the WeChat, Aliyun SMS and WeCom emulators; the
emulators post receipts back to our callback URLs. Each resident must receive
exactly one message (counted at the emulators), non-followers must fall back to
SMS, and every delivery must end delivered from the providers' receipts.
"""

from __future__ import annotations

import asyncio
import socket
from collections import Counter

from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr
from sqlalchemy import select

from channels.aliyun_sms import AliyunSmsSettings
from channels.emulators import aliyun_sms, wechat, wecom
from channels.wechat import WeChatSettings
from channels.wecom import WeComSettings
from pusher.models import DeliveryStatus, GroupChat, Resident, Urgency
from pusher.runtime.queue import LocalQueue
from pusher.settings import Settings
from pusher.web.app import create_app
from pusher.web.keys import RESOURCES
from tests.channels.rigs import SMS_TEMPLATES
from tests.spine.conftest import start
from tests.spine.flow import deliveries, publish

CALLBACK_SECRET = "cb-secret-for-tests-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _serve(app: web.Application, port: int = 0) -> TestServer:
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    return server


async def test_flow_over_emulators_delivers_once_with_receipts_and_fallback(
    sqlite_settings: Settings,
) -> None:
    town, _ = await start(sqlite_settings, residents=300)
    from pusher.runtime.resources import open_resources

    async with open_resources(sqlite_settings) as r, r.db() as session:
        openids = sorted(o for o in await session.scalars(select(Resident.openid)) if o)
        robots = set(await session.scalars(select(GroupChat.robot_key)))
    non_followers = set(openids[:10])
    ours = _free_port()
    base = f"http://127.0.0.1:{ours}"
    emus = {
        "wechat": wechat.build_app(
            app_id="wx-test",
            app_secret="wx-secret",
            callback_url=f"{base}/callbacks/wechat",
            callback_token="wx-token",
            followers=set(openids) - non_followers,
        ),
        "aliyun": aliyun_sms.build_app(
            access_key_id="ak",
            access_key_secret="ak-secret",
            report_url=f"{base}/callbacks/aliyun/report/{CALLBACK_SECRET}",
        ),
        "wecom": wecom.build_app(keys=robots),
    }
    servers = {name: await _serve(app) for name, app in emus.items()}
    url = {name: f"http://127.0.0.1:{s.port}/" for name, s in servers.items()}
    settings = sqlite_settings.model_copy(
        update={
            "callback_secret": SecretStr(CALLBACK_SECRET),
            "wechat": WeChatSettings(
                app_id="wx-test",
                app_secret=SecretStr("wx-secret"),
                token=SecretStr("wx-token"),
                base_url=url["wechat"],
                template_id="TPL-notice",
            ),
            "aliyun_sms": AliyunSmsSettings(
                access_key_id="ak",
                access_key_secret=SecretStr("ak-secret"),
                sign_name="青山镇",
                template_code="SMS_100",
                base_url=url["aliyun"],
                templates_file=str(SMS_TEMPLATES / "aliyun.yaml"),
            ),
            "wecom": WeComSettings(base_url=url["wecom"]),
            "wecom_enabled": True,
        }
    )
    app = create_app(settings)
    ours_server = await _serve(app, ours)
    try:
        resources = app[RESOURCES]
        item_id = await publish(
            resources,
            region_code=town.town_code,
            title="暴雨红色预警",
            body="预计未来3小时我镇将出现暴雨，请立即转移。",
            urgency=Urgency.URGENT,
        )
        assert isinstance(resources.queue, LocalQueue)
        for n in range(400):  # receipts arrive asynchronously; fallbacks dispatch again
            await resources.queue.join()
            await resources.queue.enqueue("sweep", job_id=f"test-sweep:{n}")
            await resources.queue.join()
            rows = await deliveries(resources, item_id)
            if not any(d.status in ("queued", "sending", "sent") for d in rows):
                break
            await asyncio.sleep(0.1)
        assert resources.queue.failures == []
        rows = await deliveries(resources, item_id)
    finally:
        await ours_server.close()
        for server in servers.values():
            await server.close()

    statuses = Counter(d.status for d in rows)
    assert set(statuses) <= {"delivered", "unreachable", "failed"}, Counter(
        (d.channel, d.status) for d in rows
    )
    # the only failures: non-followers who gave no SMS consent
    failed = [d for d in rows if d.status == DeliveryStatus.FAILED]
    assert all(d.error_code == "43004" and d.recipient in non_followers for d in failed)
    wechat_inbox = emus["wechat"][wechat.STATE].inbox.counts()
    sms_inbox = emus["aliyun"][aliyun_sms.STATE].inbox.counts()
    robot_inbox = emus["wecom"][wecom.WECOM_EMULATOR].inbox.counts()
    assert max(wechat_inbox.values()) == 1 and max(sms_inbox.values()) == 1
    assert robot_inbox == Counter({key: 1 for key in robots})
    by_channel = Counter(d.channel for d in rows if d.status == DeliveryStatus.DELIVERED)
    assert by_channel["wechat"] == sum(wechat_inbox.values())
    assert by_channel["sms"] == sum(sms_inbox.values())
    fell_back = [d for d in rows if d.channel == "sms" and d.error_code == "wechat_fallback"]
    assert not set(wechat_inbox) & non_followers
    assert fell_back or not non_followers
