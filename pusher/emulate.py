"""``pusher emulate PROVIDER``: a provider emulator on localhost, with its defaults.

Fault injection and callback targets come from :class:`EmulatorOptions`
(``--error-rate``, ``--timeout-rate``, ``--token-expiry-after``,
``--callback-url``, ``--report-url`` on the command line), so a benchmark or a
manual test can run an emulator as its own process and still break it.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from channels.emulators.common import Faults


@dataclass(frozen=True)
class EmulatorOptions:
    """Faults to inject and where to post callbacks.

    ``error_rate``/``timeout_rate``: shares of requests answered HTTP 500 or
    held past the client's timeout; ``token_expiry_after``: (WeChat) a token
    expires after this many calls; ``callback_url``: (WeChat) where events are
    POSTed; ``report_url``: (SMS) where delivery reports are POSTed.
    """

    error_rate: float = 0.0
    timeout_rate: float = 0.0
    token_expiry_after: int | None = None
    callback_url: str | None = None
    report_url: str | None = None

    def faults(self) -> Faults:
        return Faults(
            server_error=self.error_rate,
            timeout=self.timeout_rate,
            token_expiry_after=self.token_expiry_after,
        )


def emulator_app(provider: str, options: EmulatorOptions | None = None) -> web.Application:
    """The emulator app for ``provider`` (wechat, wecom, aliyun-sms, tencent-sms)."""
    o = options or EmulatorOptions()
    if provider == "wechat":
        from channels.emulators import wechat

        return wechat.build_app(faults=o.faults(), callback_url=o.callback_url)
    if provider == "wecom":
        from channels.emulators import wecom

        return wecom.build_app(faults=o.faults())
    if provider == "aliyun-sms":
        from channels.emulators import aliyun_sms

        return aliyun_sms.build_app(faults=o.faults(), report_url=o.report_url)
    if provider == "tencent-sms":
        from channels.emulators import tencent_sms

        return tencent_sms.build_app(faults=o.faults(), report_url=o.report_url)
    raise ValueError(f"unknown provider {provider!r}")


def serve_emulator(
    provider: str, *, port: int, host: str = "127.0.0.1", options: EmulatorOptions | None = None
) -> int:
    """Run the emulator on ``host:port`` until interrupted (no access log: it costs CPU)."""
    web.run_app(emulator_app(provider, options), host=host, port=port, access_log=None)
    return 0
