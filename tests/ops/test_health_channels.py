"""A CMPP gateway refusing our login (a wrong secret) shows in ``/healthz`` and ``/readyz``."""

from __future__ import annotations

import asyncio

from pydantic import SecretStr

from channels.base import ChannelKind
from channels.cmpp.channel import CmppChannel, CmppSettings
from channels.emulators.cmpp import CmppGateway
from pusher.runtime.resources import open_resources
from pusher.settings import Settings
from tests.ops.conftest import client_for, migrated


async def test_a_refused_cmpp_login_marks_the_sms_channel_unhealthy(
    sqlite_settings: Settings,
) -> None:
    gateway = CmppGateway(sp_id="901234", secret="the-right-one")
    _, port = await gateway.start()
    cmpp = CmppSettings(
        port=port,
        sp_id="901234",
        shared_secret=SecretStr("a-wrong-one"),
        src_id="10690001",
        reconnect_min_seconds=0.01,
        reconnect_max_seconds=0.05,
    )
    settings = sqlite_settings.model_copy(update={"sms_provider": "cmpp", "cmpp": cmpp})
    await migrated(settings)
    try:
        async with open_resources(settings) as r, client_for(r) as client:
            before = await (await client.get("/healthz")).json()
            channel = r.channels[ChannelKind.SMS]
            assert isinstance(channel, CmppChannel)
            await channel.connect()  # as the first SMS would
            for _ in range(200):
                if channel.session.refused is not None:
                    break
                await asyncio.sleep(0.02)
            alive = await client.get("/healthz")
            body = await alive.json()
            ready = await (await client.get("/readyz")).json()
    finally:
        await gateway.close()
    assert before["channels"] == {}
    assert alive.status == 200  # a restart would not mend a wrong secret
    assert body["channels"]["sms"]["ok"] is False
    assert "拒绝登录" in body["channels"]["sms"]["detail"]
    assert ready["channels"] == body["channels"] and "a-wrong-one" not in str(body)
