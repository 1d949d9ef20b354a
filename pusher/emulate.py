"""``pusher emulate PROVIDER``: a provider emulator on localhost, with its defaults."""

from __future__ import annotations

from aiohttp import web


def emulator_app(provider: str) -> web.Application:
    """The emulator app for ``provider`` (wechat, wecom, aliyun-sms, tencent-sms)."""
    if provider == "wechat":
        from channels.emulators import wechat

        return wechat.build_app()
    if provider == "wecom":
        from channels.emulators import wecom

        return wecom.build_app()
    if provider == "aliyun-sms":
        from channels.emulators import aliyun_sms

        return aliyun_sms.build_app()
    if provider == "tencent-sms":
        from channels.emulators import tencent_sms

        return tencent_sms.build_app()
    raise ValueError(f"unknown provider {provider!r}")
