"""``pusher wechat menu``: open the process's resources and set the official account's menu."""

from __future__ import annotations

from typing import Any

from pusher.residents.wxapi import account, set_menu
from pusher.runtime.resources import open_resources
from pusher.settings import Settings


async def publish_menu(settings: Settings) -> dict[str, Any]:
    """Set the account's menu from the settings (``PUSHER_WX__MENU``)."""
    async with open_resources(settings) as resources:
        return await set_menu(account(resources.channels), settings.wx, settings.public_url)
