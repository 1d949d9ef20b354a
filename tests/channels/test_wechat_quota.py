"""The WeChat account's daily quota is the account's own, not a constant."""

from __future__ import annotations

import aiohttp
from pydantic import SecretStr

from channels.wechat import WeChatChannel, WeChatSettings
from channels.wechat_token import MemoryTokenStore


async def test_a_raised_quota_paces_the_account_by_it() -> None:
    settings = WeChatSettings(app_id="wx", app_secret=SecretStr("s"), daily_quota=1_000_000)
    async with aiohttp.ClientSession() as http:
        raised = WeChatChannel(settings, session=http, tokens=MemoryTokenStore())
        plain = WeChatChannel(
            settings.model_copy(update={"daily_quota": 100_000}),
            session=http,
            tokens=MemoryTokenStore(),
        )
    assert (raised.limits.rate, raised.limits.per_seconds) == (1_000_000, 86_400)
    assert plain.limits.rate == 100_000
    assert WeChatChannel.limits.rate == 100_000, "the class default is untouched"
