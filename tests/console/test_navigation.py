"""The navigation bar holds the daily work; the town's structure and the tools sit behind
one 设置 entry, so the bar stays within two rows on a phone (issue 19)."""

from __future__ import annotations

import re

from tests.console.test_console import Console, console

__all__ = ["console"]  # the fixture, imported for these tests

NAV = re.compile(r'<nav class="nav">(.*?)</nav>', re.S)
LINK = re.compile(r'<a href="([^"]+)" class="(on)?">([^<]+)</a>')
STRUCTURE = {
    "/regions": "区域",
    "/topics": "订阅领域",
    "/groups": "推送对象",
    "/chats": "群聊",
    "/users": "用户",
}


async def nav(console: Console, path: str) -> list[tuple[str, bool, str]]:
    page = await (await console.client.get(path)).text()
    found = NAV.search(page)
    assert found, page[:800]
    return [(href, on == "on", label) for href, on, label in LINK.findall(found.group(1))]


async def test_the_admin_bar_is_short_and_settings_lists_the_structure(console: Console) -> None:
    await console.login("admin")
    bar = await nav(console, "/")
    hrefs = [href for href, _on, _label in bar]
    assert len(bar) <= 9 and "/settings" in hrefs
    assert not set(STRUCTURE) & set(hrefs)
    page = await (await console.client.get("/settings")).text()
    for href, label in STRUCTURE.items():
        assert f'<a href="{href}"><b>{label}</b></a>' in page
    for path in ("/regions", "/groups", "/users", "/settings"):  # 设置 is lit on its pages
        assert [h for h, on, _l in await nav(console, path) if on] == ["/settings"], path
    assert [h for h, on, _l in await nav(console, "/items/new") if on] == ["/items"]


async def test_a_grid_worker_sees_only_their_settings(console: Console) -> None:
    await console.login("grid_worker")
    page = await (await console.client.get("/settings")).text()
    assert '<a href="/chats">' in page and '<a href="/posters">' in page
    assert '<a href="/regions">' not in page and '<a href="/users">' not in page
    hrefs = [href for href, _on, _label in await nav(console, "/")]
    assert "/residents" in hrefs and "/settings" in hrefs
