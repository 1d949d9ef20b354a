"""``pusher send-test cmpp``: the same command for a provider with a connection of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from channels.cmpp.channel import CmppSettings
from channels.emulators.cmpp import CmppGateway
from pusher.cli.sendtest import ACCEPTED, NOT_CONFIGURED, REFUSED, send_test
from pusher.settings import Settings

SP_ID, SECRET = "901234", "st-secret"


@pytest.fixture
async def gateway() -> AsyncIterator[tuple[str, int]]:
    gw = CmppGateway(sp_id=SP_ID, secret=SECRET)
    address = await gw.start()
    yield address
    await gw.close()


def _settings(host: str, port: int, secret: str) -> Settings:
    cmpp = CmppSettings(
        host=host, port=port, sp_id=SP_ID, shared_secret=SecretStr(secret), src_id="10690001"
    )
    return Settings(_env_file=None, cmpp=cmpp)  # type: ignore[call-arg]


async def test_send_test_logs_in_sends_and_closes(gateway: tuple[str, int]) -> None:
    code, report = await send_test(_settings(*gateway, SECRET), "cmpp", "13900000001", "")
    assert code == ACCEPTED and report.startswith("已受理：cmpp 消息编号 "), report
    assert report.endswith("\n短信模式：自由文本"), report


async def test_a_wrong_secret_is_reported_as_configuration(gateway: tuple[str, int]) -> None:
    code, report = await send_test(_settings(*gateway, "wrong"), "cmpp", "13900000001", "")
    assert code == REFUSED and "connect:3" in report and "配置错误" in report, report


async def test_unconfigured_names_what_to_set() -> None:
    code, report = await send_test(Settings(_env_file=None), "cmpp", "13900000001", "")  # type: ignore[call-arg]
    assert code == NOT_CONFIGURED
    assert "PUSHER_CMPP__SP_ID" in report and "PUSHER_CMPP__SRC_ID" in report
