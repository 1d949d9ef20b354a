"""``pusher wechat menu`` sets the account's menu from the settings (against the emulator)."""

from __future__ import annotations

import asyncio

from channels.emulators import wechat
from pusher.cli import commands
from pusher.settings import Settings
from tests.wx.rig import running


async def test_menu_command_sets_the_four_entries(sqlite_settings: Settings) -> None:
    async with running(sqlite_settings, residents=5) as rig:
        code = await asyncio.to_thread(commands.wechat_menu, rig.resources.settings)
        assert code == 0
        menus = rig.wechat[wechat.STATE].users.menus
        assert len(menus) == 1
        top = menus[0]["button"]
        leaves = [b for t in top for b in t.get("sub_button", [t])]
        base = rig.base
        assert [(b["name"], b["url"]) for b in leaves] == [
            ("最新通知", f"{base}/wx/notices"),
            ("我的订阅", f"{base}/wx/"),
            ("绑定/代收", f"{base}/wx/bind"),
            ("联系网格员", f"{base}/wx/contact"),
        ]
        assert len(top) <= 3  # the emulator refuses a fourth top-level button (40017)
