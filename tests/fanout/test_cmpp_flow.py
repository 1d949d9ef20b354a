"""CMPP as the service runs it: chosen by settings, started by the resources, its reports
applied from the connection (no callback route) until every SMS row is delivered."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace

from pydantic import SecretStr

from channels.base import ChannelKind
from channels.cmpp.channel import CmppChannel, CmppSettings
from channels.emulators.cmpp import CmppGateway
from pusher.models import Delivery, DeliveryStatus
from pusher.pipeline.dispatch import dispatch
from pusher.runtime.resources import open_resources
from pusher.settings import Settings
from tests.fanout.rig import running, urgent_push

SP_ID, SECRET = "901234", "flow-secret"


def _sms(rows: Sequence[Delivery]) -> list[Delivery]:
    return [d for d in rows if d.channel == ChannelKind.SMS.value]


async def test_cmpp_sends_and_its_reports_reach_the_deliveries(sqlite_settings: Settings) -> None:
    gateway = CmppGateway(sp_id=SP_ID, secret=SECRET)
    host, port = await gateway.start()
    try:
        async with running(sqlite_settings, residents=60) as rig:
            push_id = await urgent_push(rig)
            settings = rig.resources.settings.model_copy(
                update={
                    "sms_provider": "cmpp",
                    "cmpp": CmppSettings(
                        host=host,
                        port=port,
                        sp_id=SP_ID,
                        shared_secret=SecretStr(SECRET),
                        src_id="10690001",
                        sign_name="青山镇",
                        connect_timeout_seconds=10,  # the first SMS logs in (slow when loaded)
                        reconnect_min_seconds=0.05,
                    ),
                }
            )
            async with open_resources(settings) as resources:
                channel = resources.channels[ChannelKind.SMS]
                assert isinstance(channel, CmppChannel)
                worker = replace(resources.dispatcher(), worker="cmpp-w")
                tally = await dispatch(worker, push_id, ChannelKind.SMS)
                rows = _sms(await rig.deliveries(push_id))
                for _ in range(400):  # reports come over the connection, a little later
                    if all(d.status == DeliveryStatus.DELIVERED for d in rows):
                        break
                    await asyncio.sleep(0.05)
                    rows = _sms(await rig.deliveries(push_id))
    finally:
        await gateway.close()
    assert rows and tally.sent == len(rows)
    assert {d.provider for d in rows} == {"cmpp"}
    assert all(d.status == DeliveryStatus.DELIVERED for d in rows), [d.status for d in rows]
    assert sorted(gateway.inbox.messages) == sorted(d.recipient for d in rows)
