"""The CMPP channel as a contract-test rig (``rigs.Spec``), against the gateway emulator.

The shared rig starts HTTP emulators and collects receipts posted to a callback
URL; CMPP has neither. Here the builder starts the TCP gateway itself (closed
with the channel) and the channel's receipt sink appends to ``Rig.receipts``,
which ``rigs.running`` fills in after the build, so the same list is read. The
parser is never called: it only marks the provider as one that sends receipts.
"""

from __future__ import annotations

import aiohttp
from pydantic import SecretStr

from channels.base import CallbackBatch
from channels.cmpp.channel import CmppChannel, CmppSettings, ReceiptSink
from channels.emulators.cmpp import CmppGateway, faults_from
from tests.channels.rigs import SECRET, SIGN, Options, Rig, Servers, Spec

SP_ID = "901234"


class _RigChannel(CmppChannel):
    """The channel, closing its gateway after itself."""

    def __init__(self, settings: CmppSettings, *, sink: ReceiptSink, gateway: CmppGateway) -> None:
        super().__init__(settings, sink=sink)
        self.gateway = gateway

    async def close(self) -> None:
        await super().close()
        await self.gateway.close()


def cmpp_settings(host: str, port: int, *, secret: str = SECRET) -> CmppSettings:
    """Settings of the rig's SP account at ``host:port``, with timers for tests."""
    return CmppSettings(
        host=host,
        port=port,
        sp_id=SP_ID,
        shared_secret=SecretStr(secret),
        src_id="10690001",
        sign_name=SIGN,
        response_timeout_seconds=5,
        connect_timeout_seconds=1,
        reconnect_min_seconds=0.05,
        reconnect_max_seconds=0.5,
    )


async def build(http: aiohttp.ClientSession, o: Options, serve: Servers) -> Rig:
    faults = faults_from(o.faults) if o.faults is not None else None
    gateway = CmppGateway(sp_id=SP_ID, secret=SECRET, faults=faults)
    host, port = await gateway.start()
    rig: Rig | None = None

    async def sink(batch: CallbackBatch) -> None:
        assert rig is not None
        rig.receipts.append(batch)

    channel = _RigChannel(cmpp_settings(host, port, secret=o.secret), sink=sink, gateway=gateway)
    await channel.start()
    rig = Rig(
        channel,
        lambda: {k: list(v) for k, v in gateway.inbox.messages.items()},
        lambda: [len(s.dests) for s in gateway.segments],
    )
    return rig


def _never(body: bytes, query: dict[str, str]) -> CallbackBatch:
    raise AssertionError("CMPP receipts come over the connection, not a callback")


CMPP_SPEC = Spec(
    "cmpp",
    build,
    lambda i: f"139{i:08d}",
    "12345",
    "connect:3",
    _never,
    500 - len(f"【{SIGN}】"),
    1,
)
