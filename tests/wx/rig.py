"""The residents' side wired for real: our app, the WeChat and Aliyun SMS emulators, and a
resident's phone (a browser with cookies that signs in through the emulator's OAuth page)."""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from sqlalchemy import select

from channels.emulators import aliyun_sms, wechat
from channels.emulators.accounts import SmsAccount, read_account
from pusher.db import transaction
from pusher.demo.town import Town
from pusher.models import Region, Resident
from pusher.runtime.context import Resources
from pusher.runtime.resources import open_resources
from pusher.settings import Settings
from pusher.web.app import create_app
from tests.channels.rigs import SMS_TEMPLATES
from tests.console.test_console import PASSWORD, make_users
from tests.fanout.rig import SECRET, WX_TOKEN, RecordingQueue, _free_port, _serve, _settings
from tests.spine.conftest import start

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class WxRig:
    town: Town
    resources: Resources
    wechat: Any
    sms: Any
    base: str
    emulator: str

    @property
    def ctx(self) -> dict[str, Any]:
        return {"resources": self.resources}

    def sms_texts(self, phone: str) -> list[str]:
        return list(self.sms[aliyun_sms.STATE].inbox.messages.get(phone, []))

    def wechat_texts(self, openid: str) -> list[str]:
        return list(self.wechat[wechat.STATE].inbox.messages.get(openid, []))

    async def region(self, code: str) -> Region:
        async with self.resources.db() as db:
            region = await db.scalar(select(Region).where(Region.code == code))
        assert region is not None
        return region

    async def add_resident(self, name: str, phone: str, region_code: str) -> int:
        """A roster record without WeChat (as a grid worker would type it in)."""
        region = await self.region(region_code)
        async with transaction(self.resources.db) as db:
            resident = Resident(name=name, phone=phone, region_id=region.id, sms_consent=True)
            db.add(resident)
            await db.flush()
            assert resident.id is not None
            return resident.id

    async def event(self, openid: str, kind: str, **extra: str) -> dict[str, Any]:
        """The follower does ``kind`` in WeChat; our callback's status and body."""
        async with aiohttp.ClientSession() as http:
            url = f"{self.emulator}emulator/event"
            async with http.post(url, json={"openid": openid, "kind": kind, **extra}) as resp:
                assert resp.status == 200, await resp.text()
                answer: dict[str, Any] = await resp.json()
                return answer


@asynccontextmanager
async def running(
    settings: Settings, *, residents: int = 40, notices: bool = False, once: bool = False
) -> AsyncIterator[WxRig]:
    """The town, the emulators and our app on a port known to ``public_url``
    (``notices``: the account sends subscription notices, which need consent;
    ``once``: one-time notices, each consent lets one through)."""
    town, _ = await start(settings, residents=residents)
    await make_users(settings)  # passwords; grid_worker keeps the first grid
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    app_id = f"wx-{uuid.uuid4().hex[:10]}"
    wx = wechat.build_app(
        app_id=app_id,
        app_secret="wx-secret",
        callback_url=f"{base}/callbacks/wechat",
        callback_token=WX_TOKEN,
        callback_delay=0.01,
        notice_consent=notices,
        notice_once=once,
    )
    sms_app = aliyun_sms.build_app(
        access_key_id="ak",
        access_key_secret="ak-secret",
        report_url=f"{base}/callbacks/aliyun/report/{SECRET}",
        up_url=f"{base}/callbacks/aliyun/reply/{SECRET}",
        account=_strict_account(),
        report_delay=0.01,
    )
    servers = [await _serve(wx), await _serve(sms_app)]
    urls = {
        f: f"http://127.0.0.1:{s.port}/" for f, s in zip(("wechat", "sms"), servers, strict=True)
    }
    configured = _settings(settings, urls, "aliyun", app_id, 10.0)
    if notices:
        wechat_settings = configured.wechat.model_copy(
            update={"mode": "subscribe", "subscribe_template_id": "TPL-sub", "subscribe_once": once}
        )
        configured = configured.model_copy(update={"wechat": wechat_settings})
    configured = configured.model_copy(
        update={
            "public_url": base,
            "wx": settings.wx.model_copy(
                update={"oauth_url": f"{urls['wechat']}connect/oauth2/authorize"}
            ),
        }
    )
    async with open_resources(configured, queue=RecordingQueue()) as resources:
        ours = await _serve(create_app(configured, resources=resources), port)
        try:
            yield WxRig(town, resources, wx, sms_app, base, urls["wechat"])
        finally:
            await ours.close()
            for server in servers:
                await server.close()


class Phone:
    """A resident's phone: WeChat's browser, signed in as ``openid`` by the OAuth page."""

    def __init__(self, rig: WxRig, openid: str) -> None:
        self.rig, self.openid = rig, openid
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def close(self) -> None:
        await self.http.close()

    async def get(self, path: str) -> tuple[int, str]:
        """GET a page, following our redirects and choosing ``openid`` on the OAuth page."""
        url = f"{self.rig.base}{path}"
        for _ in range(8):
            async with self.http.get(url, allow_redirects=False) as resp:
                text = await resp.text()
                if resp.status not in (301, 302, 303):
                    self._keep_csrf(text)
                    return resp.status, text
                url = resp.headers["Location"]
            url = self._absolute(url)
        raise AssertionError("too many redirects")

    def _absolute(self, url: str) -> str:
        if url.startswith("/"):
            return f"{self.rig.base}{url}"
        if "connect/oauth2/authorize" in url:  # the tester picks who is on the phone
            return url.split("#", 1)[0] + f"&as={self.openid}"
        return url

    def _keep_csrf(self, text: str) -> None:
        found = CSRF.search(text)
        if found:
            self.csrf = found.group(1)

    async def post(self, path: str, form: dict[str, str]) -> tuple[int, str]:
        """POST a form with the page's CSRF token; follow the answer's redirect."""
        data = {"csrf": self.csrf, **form}
        async with self.http.post(
            f"{self.rig.base}{path}", data=data, allow_redirects=False
        ) as resp:
            text = await resp.text()
            if resp.status in (302, 303):
                return await self.get(resp.headers["Location"])
            self._keep_csrf(text)
            return resp.status, text


async def console(rig: WxRig, username: str) -> aiohttp.ClientSession:
    """A signed-in console session (the caller closes it)."""
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(f"{rig.base}/login") as resp:
        token = CSRF.search(await resp.text())
    assert token is not None
    data = {"username": username, "password": PASSWORD, "csrf": token.group(1)}
    async with http.post(f"{rig.base}/login", data=data, allow_redirects=False) as resp:
        assert resp.status == 302, resp.status
    return http


async def console_form(
    http: aiohttp.ClientSession, rig: WxRig, path: str, form: dict[str, str]
) -> tuple[int, str]:
    """POST a console form with the CSRF token of the page it sits on."""
    async with http.get(f"{rig.base}/messages") as resp:
        token = CSRF.search(await resp.text())
    assert token is not None
    async with http.post(f"{rig.base}{path}", data={"csrf": token.group(1), **form}) as resp:
        return resp.status, await resp.text()


def code_in(texts: list[str]) -> str:
    """The six digits of the last code SMS."""
    found = re.findall(r"验证码(\d{6})", texts[-1]) if texts else []
    assert found, texts
    return str(found[0])


def _strict_account() -> SmsAccount:
    """The suggested Aliyun templates (docs/sms-templates), any signature: service SMS
    (binding codes, answers) go out through their templates, rendered as residents read them."""
    found = read_account("aliyun-sms", SMS_TEMPLATES / "aliyun.yaml")
    assert isinstance(found, SmsAccount)
    return dataclasses.replace(found, sign_names=None)
