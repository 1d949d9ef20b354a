"""``pusher emulate PROVIDER``: a provider emulator on localhost, with its defaults.

Fault injection and callback targets come from :class:`EmulatorOptions`
(``--error-rate``, ``--timeout-rate``, ``--token-expiry-after``,
``--callback-url``, ``--callback-token``, ``--report-url`` on the command line), so a benchmark or a
manual test can run an emulator as its own process and still break it.
``--account FILE`` (YAML or JSON, see :mod:`channels.emulators.accounts`) says
what the account holds: signs and approved templates with their variables'
limits, followers, robot keys; without it the emulator takes any of them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from channels.emulators.accounts import (
    Account,
    SmsAccount,
    WeChatAccount,
    WeComAccount,
    read_account,
)
from channels.emulators.common import Faults


@dataclass(frozen=True)
class EmulatorOptions:
    """Faults to inject and where to post callbacks.

    ``error_rate``/``timeout_rate``: shares of requests answered HTTP 500 or
    held past the client's timeout; ``token_expiry_after``: (WeChat) a token
    expires after this many calls; ``callback_url``: (WeChat) where events are
    POSTed, signed with ``callback_token`` (our ``PUSHER_WECHAT__TOKEN``);
    ``report_url``: (SMS) where delivery reports are POSTed;
    ``account_file``: what the account holds (None: anything goes).
    """

    error_rate: float = 0.0
    timeout_rate: float = 0.0
    token_expiry_after: int | None = None
    callback_url: str | None = None
    callback_token: str = ""
    report_url: str | None = None
    account_file: Path | None = None

    def account(self, provider: str) -> Account | None:
        """The account read from ``account_file``; ``ValueError`` if it cannot be."""
        if self.account_file is None:
            return None
        try:
            return read_account(provider, self.account_file)
        except OSError as exc:
            raise ValueError(f"{self.account_file}: {exc.strerror}") from exc

    def faults(self) -> Faults:
        return Faults(
            server_error=self.error_rate,
            timeout=self.timeout_rate,
            token_expiry_after=self.token_expiry_after,
        )


def emulator_app(provider: str, options: EmulatorOptions | None = None) -> web.Application:
    """The emulator app for ``provider`` (wechat, wecom, aliyun-sms, tencent-sms).

    ``ValueError`` when the options' account file cannot be read.
    """
    o = options or EmulatorOptions()
    account = o.account(provider)
    if provider == "wechat":
        from channels.emulators import wechat

        assert account is None or isinstance(account, WeChatAccount)
        return wechat.build_app(
            faults=o.faults(),
            callback_url=o.callback_url,
            callback_token=o.callback_token,
            account=account,
        )
    if provider == "wecom":
        from channels.emulators import wecom

        assert account is None or isinstance(account, WeComAccount)
        return wecom.build_app(faults=o.faults(), account=account)
    assert account is None or isinstance(account, SmsAccount)
    if provider == "aliyun-sms":
        from channels.emulators import aliyun_sms

        return aliyun_sms.build_app(faults=o.faults(), report_url=o.report_url, account=account)
    if provider == "tencent-sms":
        from channels.emulators import tencent_sms

        return tencent_sms.build_app(faults=o.faults(), report_url=o.report_url, account=account)
    raise ValueError(f"unknown provider {provider!r}")


def serve_emulator(
    provider: str, *, port: int, host: str = "127.0.0.1", options: EmulatorOptions | None = None
) -> int:
    """Run the emulator on ``host:port`` until interrupted (no access log: it costs CPU).

    An account file that cannot be read ends it at once with exit status 2.
    """
    try:
        app = emulator_app(provider, options)
    except ValueError as exc:
        print(f"账户文件无法读取：{exc}", file=sys.stderr)
        return 2
    web.run_app(app, host=host, port=port, access_log=None)
    return 0
