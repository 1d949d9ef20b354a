"""Callback routes come from the registry: each provider's own parser, nothing else routed."""

from __future__ import annotations

from channels.registry import PROVIDERS
from pusher.settings import Settings
from pusher.web.keys import SETTINGS
from tests.fanout.test_callback_guard import serving


async def test_only_registered_providers_have_callback_routes(sqlite_settings: Settings) -> None:
    async with serving(sqlite_settings) as ours:
        secret = ours.client.server.app[SETTINGS].callback_secret.get_secret_value()
        answers = {}
        for p in PROVIDERS:
            for cb in p.callbacks:
                path = f"/callbacks/{p.name}/{cb.path}/{secret}"
                answers[path] = (await ours.client.post(path, json=[])).status
        unknown = await ours.client.post(f"/callbacks/huawei/report/{secret}", json=[])
        wrong_kind = await ours.client.post(f"/callbacks/aliyun/status/{secret}", json=[])
    assert answers and set(answers.values()) == {200}, answers
    assert unknown.status == 404 and wrong_kind.status == 404
